"""Talking to a running stack: its addresses (stack.json) and the query API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from auditpipe_common.apikeys import ApiKeys


def stack_info(data_dir: Path) -> dict[str, Any] | None:
    """Addresses of the stack running on ``data_dir``, or None if it is not running."""
    path = data_dir / "stack.json"
    if not path.exists():
        return None
    info: dict[str, Any] = json.loads(path.read_text())
    try:
        httpx.get(f"{info['query_url']}/livez", timeout=1).raise_for_status()
    except httpx.HTTPError:
        return None
    return info


def create_key(redis_url: str, tenant: str, name: str = "") -> str:
    """Create an API key for ``tenant`` in the stack's Redis."""

    async def go() -> str:
        redis = Redis.from_url(redis_url)
        try:
            return await ApiKeys(redis).create(tenant, name)
        finally:
            await redis.aclose()

    return asyncio.run(go())


def wait_drained(redis_url: str, shards: int, timeout: float = 180.0) -> bool:
    """Wait until the workers have acknowledged every queued entry of every shard.

    After this, everything ingest accepted so far is in the store (or in the
    dead-letter stream), so counts read from the store are final.
    """
    import time

    import redis

    from auditpipe_common.streams import GROUP, stream_key

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            busy = 0
            for shard in range(shards):
                groups = client.xinfo_groups(stream_key("auditpipe", shard))
                for g in groups:
                    if g["name"].decode() == GROUP:
                        busy += int(g["pending"]) + int(g.get("lag") or 0)
            if busy == 0:
                return True
            time.sleep(0.1)
        return False
    finally:
        client.close()


class QueryClient:
    """Thin client of the query API."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers={"authorization": f"Bearer {api_key}"}, timeout=60
        )

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        return self.get(path, params).json()

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET ``path``; RuntimeError with the server's reason unless the answer is 200."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        r = self._http.get(path, params=clean)
        if r.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {r.status_code}: {r.text[:300]}")
        return r

    def page(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of ``/v1/events``."""
        page: dict[str, Any] = self._get("/v1/events", params)
        return page

    def stats(self, params: dict[str, Any] | None = None) -> dict[str, int]:
        """``/v1/stats`` for the key's tenant."""
        stats: dict[str, int] = self._get("/v1/stats", params or {})
        return stats

    def export_lines(self, params: dict[str, Any]) -> Iterator[str]:
        """Stream ``/v1/export`` line by line.

        Lines end at ``\\n`` only: the text of an event may hold U+2028, U+0085
        and other characters that ``str.splitlines`` (and httpx's ``iter_lines``)
        would also break a line at.
        """
        clean = {k: v for k, v in params.items() if v is not None}
        with self._http.stream("GET", "/v1/export", params=clean) as r:
            if r.status_code != 200:
                raise RuntimeError(f"/v1/export: HTTP {r.status_code}: {r.read()[:300]!r}")
            pending = b""
            for chunk in r.iter_bytes():
                *lines, pending = (pending + chunk).split(b"\n")
                yield from (line.decode() + "\n" for line in lines)
            if pending:
                yield pending.decode() + "\n"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> QueryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
