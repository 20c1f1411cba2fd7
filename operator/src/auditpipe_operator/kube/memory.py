"""An in-memory :class:`~.client.Kube` for tests: objects in a dict, injectable failures."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

from auditpipe_operator.kube.client import Manifest, ObjectRef
from auditpipe_operator.kube.errors import KubeError

# Called with (verb, ref) before each call; raise a KubeError to make the call fail.
Fault = Callable[[str, ObjectRef], None]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def matches(labels: dict[str, str], selector: str) -> bool:
    """Whether ``labels`` match an equality-based selector ``k=v,k2=v2``."""
    wanted = (pair.split("=", 1) for pair in selector.split(",") if pair)
    return all(labels.get(key) == value for key, value in wanted)


class MemoryKube:
    """Objects keyed by :class:`ObjectRef`; records every call in ``calls``."""

    def __init__(self) -> None:
        self.objects: dict[ObjectRef, Manifest] = {}
        self.calls: list[tuple[str, ObjectRef]] = []
        self.faults: list[Fault] = []
        self._uids = itertools.count(1)

    def _call(self, verb: str, ref: ObjectRef) -> None:
        self.calls.append((verb, ref))
        for fault in self.faults:
            fault(verb, ref)

    def add(self, obj: Manifest) -> Manifest:
        """Store ``obj`` as if it had been created (uid and generation filled in)."""
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(self._uids)}")
        meta.setdefault("generation", 1)
        self.objects[ObjectRef.of(stored)] = stored
        return stored

    async def apply(self, obj: Manifest, field_manager: str) -> Manifest:
        """Replace everything but status, uid and generation (bumped when spec changes)."""
        ref = ObjectRef.of(obj)
        self._call("apply", ref)
        old = self.objects.get(ref)
        if old is None:
            return copy.deepcopy(self.add(obj))
        new = copy.deepcopy(obj)
        meta = new["metadata"]
        meta["uid"] = old["metadata"]["uid"]
        changed = {k: v for k, v in new.items() if k not in ("metadata", "status")} != {
            k: v for k, v in old.items() if k not in ("metadata", "status")
        }
        meta["generation"] = old["metadata"]["generation"] + (1 if changed else 0)
        if "status" in old:
            new["status"] = old["status"]
        self.objects[ref] = new
        return copy.deepcopy(new)

    async def create(self, obj: Manifest, *, dry_run: bool = False) -> bool:
        """Create unless it exists (a dry run stores nothing; its verb is ``create/dry-run``)."""
        ref = ObjectRef.of(obj)
        self._call("create/dry-run" if dry_run else "create", ref)
        if ref in self.objects:
            return False
        if not dry_run:
            self.add(obj)
        return True

    async def get(self, ref: ObjectRef) -> Manifest | None:
        """A copy of the object, or None."""
        self._call("get", ref)
        obj = self.objects.get(ref)
        return copy.deepcopy(obj) if obj is not None else None

    async def list(
        self, api_version: str, kind: str, namespace: str, selector: str
    ) -> list[Manifest]:
        """Objects of a kind in a namespace whose labels match."""
        self._call("list", ObjectRef(api_version, kind, namespace, ""))
        return [
            copy.deepcopy(obj)
            for ref, obj in self.objects.items()
            if (ref.api_version, ref.kind, ref.namespace) == (api_version, kind, namespace)
            and matches(obj["metadata"].get("labels", {}), selector)
        ]

    async def delete(self, ref: ObjectRef) -> bool:
        """Remove the object."""
        self._call("delete", ref)
        return self.objects.pop(ref, None) is not None

    async def patch(self, ref: ObjectRef, patch: Manifest, subresource: str = "") -> None:
        """Merge patch (``status`` patches only touch status)."""
        self._call(f"patch{'/' + subresource if subresource else ''}", ref)
        if ref not in self.objects:
            raise KubeError(404, "NotFound", f"{ref.kind} {ref.name} not found")
        if subresource == "status":
            patch = {"status": patch.get("status")}
        self.objects[ref] = merge_patch(self.objects[ref], patch)

    def named(self, kind: str, name: str) -> Manifest | None:
        """The stored object of ``kind`` called ``name`` (any namespace), if any."""
        for ref, obj in self.objects.items():
            if ref.kind == kind and ref.name == name:
                return obj
        return None


def fail_on(verb: str, kind: str, error: KubeError, name: str | None = None) -> Fault:
    """A fault raising ``error`` for ``verb`` on ``kind`` (and ``name``, if given)."""

    def fault(called: str, ref: ObjectRef) -> None:
        if called == verb and ref.kind == kind and name in (None, ref.name):
            raise error

    return fault
