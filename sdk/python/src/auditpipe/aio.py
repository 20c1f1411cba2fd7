"""The asyncio client: same behaviour as :class:`AuditClient`, for event loops."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import httpx

from auditpipe.config import ClientConfig, Overflow
from auditpipe.core import ClientCore
from auditpipe.errors import BufferFullError, ClientClosedError
from auditpipe.protocol import HttpAnswer, Pause, Reply, Step
from auditpipe.report import BatchReport


class AsyncAuditClient(ClientCore):
    """Audit client for asyncio code. Use ``async with`` or call ``aclose()``."""

    def __init__(self, config: ClientConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._cond = asyncio.Condition()
        self._logged = 0
        self._settled = 0
        self._flush_wanted = False
        self._http = httpx.AsyncClient(timeout=self.config.request_timeout)
        self._task: asyncio.Task[None] | None = None

    async def log(self, action: str, **fields: Any) -> str:
        """Buffer one event and return its idempotency key."""
        ev = self._make(action, fields)
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="auditpipe-flusher")
        async with self._cond:
            if self._closed:
                raise ClientClosedError("client is closed")
            if not self._room():
                if self.config.overflow is not Overflow.BLOCK:
                    return self._overflow(ev)
                try:
                    await asyncio.wait_for(
                        self._cond.wait_for(self._room), self.config.block_timeout
                    )
                except TimeoutError:
                    raise BufferFullError("no room in the buffer") from None
            self._buffer.append(ev)
            self._logged += 1
            self.stats.logged += 1
            if len(self._buffer) >= self.config.batch_size:
                self._cond.notify_all()
        return ev.idempotency_key

    async def flush(self) -> None:
        """Wait until every event logged so far is acknowledged, rejected or failed."""
        async with self._cond:
            target = self._logged
            self._flush_wanted = True
            self._cond.notify_all()
            await self._cond.wait_for(lambda: self._settled >= target)

    async def aclose(self) -> None:
        """Flush, stop the delivery task and close connections. Idempotent."""
        async with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._task is not None:
            await self._task
        await self._http.aclose()

    async def __aenter__(self) -> AsyncAuditClient:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _wait_for_work(self) -> None:
        async with self._cond:
            await self._cond.wait_for(
                lambda: (
                    self._closed
                    or self._flush_wanted
                    or len(self._buffer) >= self.config.batch_size
                )
            )

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_for_work(), self.config.flush_interval)
            async with self._cond:
                if not self._buffer:
                    self._flush_wanted = False
                    if self._closed:
                        return
                    continue
                batch = self._take()
                self._cond.notify_all()
            report = await self._drive(self._delivery(batch))
            self._report(report)
            async with self._cond:
                self._settled += len(batch)
                self._cond.notify_all()

    async def _drive(self, gen: Any) -> BatchReport:
        try:
            step: Step = next(gen)
            while True:
                step = gen.send(await self._perform(step))
        except StopIteration as stop:
            result: BatchReport = stop.value
            return result

    async def _perform(self, step: Step) -> Reply:
        if isinstance(step, Pause):
            self.stats.retries += 1  # only the delivery side writes this field
            await asyncio.sleep(step.seconds)
            return None
        try:
            r = await self._http.post(
                step.url, headers=step.headers, content=step.content or None, json=step.json
            )
        except httpx.HTTPError as exc:
            return exc
        is_json = r.headers.get("content-type", "").startswith("application/json")
        return HttpAnswer(r.status_code, dict(r.headers), r.content, r.json() if is_json else None)
