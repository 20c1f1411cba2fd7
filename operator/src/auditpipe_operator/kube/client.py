"""The client interface the handlers use, and its HTTP implementation."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp

from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.kube.kinds import kind_info

Manifest = dict[str, Any]
APPLY = "application/apply-patch+yaml"  # JSON is YAML: the body is sent as JSON
MERGE = "application/merge-patch+json"


@dataclass(frozen=True)
class ObjectRef:
    """Which object: kind coordinates plus namespace and name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """The reference of a manifest."""
        meta = obj["metadata"]
        return cls(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])

    def path(self, subresource: str = "") -> str:
        """URL path of the object (or one of its subresources)."""
        base = kind_info(self.api_version, self.kind).collection(self.namespace)
        return f"{base}/{self.name}" + (f"/{subresource}" if subresource else "")


class Kube(Protocol):
    """What the handlers need from the API server."""

    async def apply(self, obj: Manifest, field_manager: str) -> Manifest:
        """Server-side apply ``obj`` (force: the operator owns what it sets)."""

    async def create(self, obj: Manifest, *, dry_run: bool = False) -> bool:
        """Create ``obj``; False if it already exists (it is never read or changed).

        ``dry_run`` only asks whether it would be created: True if the object does not
        exist. That needs only the ``create`` right, and reads nothing of what exists.
        """

    async def get(self, ref: ObjectRef) -> Manifest | None:
        """The object, or None if it does not exist."""

    async def list(
        self, api_version: str, kind: str, namespace: str, selector: str
    ) -> list[Manifest]:
        """Objects of a kind in a namespace matching a label selector."""

    async def delete(self, ref: ObjectRef) -> bool:
        """Delete (background propagation); False if it was already gone."""

    async def patch(self, ref: ObjectRef, patch: Manifest, subresource: str = "") -> None:
        """JSON merge patch of the object or a subresource (``status``)."""


Request = Callable[[str, str, Any, str], Awaitable[Any]]


class HttpKube:
    """:class:`Kube` over HTTP. ``request(method, path, body, content_type)`` does the I/O."""

    def __init__(self, request: Request) -> None:
        self._request = request

    async def apply(self, obj: Manifest, field_manager: str) -> Manifest:
        """Server-side apply with ``force=true``."""
        query = urlencode({"fieldManager": field_manager, "force": "true"})
        path = f"{ObjectRef.of(obj).path()}?{query}"
        result: Manifest = await self._request("PATCH", path, obj, APPLY)
        return result

    async def create(self, obj: Manifest, *, dry_run: bool = False) -> bool:
        """POST to the collection (``?dryRun=All`` for a dry run); a 409 means it exists."""
        meta = obj["metadata"]
        path = kind_info(obj["apiVersion"], obj["kind"]).collection(meta.get("namespace"))
        if dry_run:
            path += "?dryRun=All"
        try:
            await self._request("POST", path, obj, "application/json")
        except KubeError as exc:
            if exc.conflict:
                return False
            raise
        return True

    async def get(self, ref: ObjectRef) -> Manifest | None:
        """GET, None on 404."""
        try:
            result: Manifest = await self._request("GET", ref.path(), None, "")
        except KubeError as exc:
            if exc.not_found:
                return None
            raise
        return result

    async def list(
        self, api_version: str, kind: str, namespace: str, selector: str
    ) -> list[Manifest]:
        """GET the collection with a label selector; items get apiVersion and kind back."""
        path = kind_info(api_version, kind).collection(namespace)
        result = await self._request(
            "GET", f"{path}?{urlencode({'labelSelector': selector})}", None, ""
        )
        return [{"apiVersion": api_version, "kind": kind, **item} for item in result["items"]]

    async def delete(self, ref: ObjectRef) -> bool:
        """DELETE with background propagation, False on 404."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            await self._request("DELETE", ref.path(), body, "application/json")
        except KubeError as exc:
            if exc.not_found:
                return False
            raise
        return True

    async def patch(self, ref: ObjectRef, patch: Manifest, subresource: str = "") -> None:
        """Merge patch."""
        await self._request("PATCH", ref.path(subresource), patch, MERGE)


async def error_of(response: aiohttp.ClientResponse) -> KubeError:
    """A :class:`KubeError` from a failed response (the API's Status object if any)."""
    text = await response.text()
    try:
        status = json.loads(text)
        return KubeError(response.status, status.get("reason", ""), status.get("message", text))
    except (ValueError, AttributeError):
        return KubeError(response.status, response.reason or "", text[:500])
