"""HTTP transport for :class:`~.client.HttpKube`, logged in the way kopf logs in.

Credentials come from kopf's own login functions (in-cluster ServiceAccount or
kubeconfig), so the operator's API calls run with exactly the identity kopf
uses. On a 401 (a rotated ServiceAccount token) it logs in again once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import kopf

from auditpipe_operator.kube.client import HttpKube, error_of
from auditpipe_operator.kube.errors import KubeError

Login = Callable[[], kopf.ConnectionInfo]
TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)


def default_login(logger: kopf.Logger) -> Login:
    """Like kopf: the official client's config (in-cluster, else kubeconfig), else kopf's own."""
    settings = kopf.OperatorSettings()

    def login() -> kopf.ConnectionInfo:
        for attempt in (kopf.login_via_client, kopf.login_with_service_account):
            info = attempt(logger=logger, settings=settings)
            if info is not None:
                return info
        info = kopf.login_with_kubeconfig(settings=settings)
        if info is None:
            raise kopf.LoginError("no in-cluster ServiceAccount and no kubeconfig")
        return info

    return login


class Session:
    """One aiohttp session to the API server, re-created after a 401."""

    def __init__(self, login: Login) -> None:
        self._login = login
        self._session: aiohttp.ClientSession | None = None
        self._server = ""

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            info = self._login()
            self._server = info.server.rstrip("/")
            connector = aiohttp.TCPConnector(ssl=info.as_ssl_context())
            headers = {**info.as_http_headers(), "User-Agent": "auditpipe-operator"}
            self._session = aiohttp.ClientSession(
                connector=connector, headers=headers, timeout=TIMEOUT
            )
        return self._session

    async def close(self) -> None:
        """Close the connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, body: Any, content_type: str) -> Any:
        """One API call; JSON in and out; a :class:`KubeError` on failure."""
        for attempt in range(2):
            session = self._open()
            headers = {"Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            data = json.dumps(body) if body is not None else None
            try:
                async with session.request(
                    method, self._server + path, data=data, headers=headers
                ) as response:
                    if response.status == 401 and attempt == 0:
                        await self.close()
                        continue
                    if response.status >= 400:
                        raise await error_of(response)
                    return await response.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise KubeError(0, "Unreachable", f"{method} {path}: {exc}") from exc
        raise KubeError(401, "Unauthorized", "the API server refused the credentials")


def connect(logger: kopf.Logger, login: Login | None = None) -> tuple[HttpKube, Session]:
    """A client and the session to close at shutdown."""
    session = Session(login or default_login(logger))
    return HttpKube(session.request), session
