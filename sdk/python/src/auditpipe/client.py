"""The synchronous client: ``log()`` buffers, a background thread delivers."""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from types import TracebackType
from typing import Any

import httpx

from auditpipe.config import ClientConfig, Overflow
from auditpipe.core import ClientCore
from auditpipe.errors import BufferFullError, ClientClosedError
from auditpipe.protocol import HttpAnswer, Pause, Reply, Step
from auditpipe.report import BatchReport


class AuditClient(ClientCore):
    """Thread-safe audit client.

    ``log()`` returns the event's idempotency key as soon as the event is
    buffered. A background thread takes batches of ``batch_size`` events (or
    whatever is buffered after ``flush_interval`` seconds), gets their
    sequence numbers in one call, and sends them; events logged one after
    another get increasing numbers. ``flush()`` waits for everything logged
    so far; ``close()`` (also called by ``with`` and at interpreter exit)
    flushes and stops the thread.
    """

    def __init__(self, config: ClientConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._cond = threading.Condition()
        self._logged = 0
        self._settled = 0
        self._flush_wanted = False
        self._http = httpx.Client(timeout=self.config.request_timeout)
        self._thread = threading.Thread(target=self._loop, name="auditpipe-flusher", daemon=True)
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))

    def log(self, action: str, **fields: Any) -> str:
        """Buffer one event and return its idempotency key. See ``build_event``."""
        ev = self._make(action, fields)
        with self._cond:
            if self._closed:
                raise ClientClosedError("client is closed")
            if not self._room():
                if self.config.overflow is not Overflow.BLOCK:
                    return self._overflow(ev)
                if not self._cond.wait_for(self._room, self.config.block_timeout):
                    raise BufferFullError(
                        f"no room in the buffer after {self.config.block_timeout}s"
                    )
            self._buffer.append(ev)
            self._logged += 1
            self.stats.logged += 1
            if len(self._buffer) >= self.config.batch_size:
                self._cond.notify_all()
        return ev.idempotency_key

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event logged so far is acknowledged, rejected or failed."""
        with self._cond:
            target = self._logged
            self._flush_wanted = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._settled >= target, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the background thread. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        self._http.close()

    def __enter__(self) -> AuditClient:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _loop(self) -> None:
        interval = self.config.flush_interval
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._closed
                        or self._flush_wanted
                        or len(self._buffer) >= self.config.batch_size
                    ),
                    interval,
                )
                if not self._buffer:
                    self._flush_wanted = False
                    if self._closed:
                        return
                    continue
                batch = self._take()
                self._cond.notify_all()  # room for blocked log() calls
            report = self._drive(self._delivery(batch))
            self._report(report)
            with self._cond:
                self._settled += len(batch)
                self._cond.notify_all()

    def _drive(self, gen: Any) -> BatchReport:
        try:
            step: Step = next(gen)
            while True:
                step = gen.send(self._perform(step))
        except StopIteration as stop:
            result: BatchReport = stop.value
            return result

    def _perform(self, step: Step) -> Reply:
        if isinstance(step, Pause):
            self.stats.retries += 1  # only the delivery side writes this field
            time.sleep(step.seconds)
            return None
        try:
            r = self._http.post(
                step.url, headers=step.headers, content=step.content or None, json=step.json
            )
        except httpx.HTTPError as exc:
            return exc
        is_json = r.headers.get("content-type", "").startswith("application/json")
        return HttpAnswer(r.status_code, dict(r.headers), r.content, r.json() if is_json else None)


def _close_at_exit(ref: weakref.ref[AuditClient]) -> None:
    """Flush and close a client still open when the interpreter exits."""
    client = ref()
    if client is not None:
        client.close()
