"""State and bookkeeping shared by the sync and async clients."""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

from auditpipe.config import ClientConfig, Overflow
from auditpipe.errors import BufferFullError
from auditpipe.events import build_event
from auditpipe.protocol import DeliveryFailed, Reply, Step, deliver
from auditpipe.report import BatchReport, Stats
from auditpipe_common.logging import get_logger
from auditpipe_common.schema import AuditEvent

CLOCK_HEADER = "auditpipe-clock"

log = get_logger("auditpipe.sdk")


class ClientCore:
    """Buffer, statistics and the causal clock; no I/O and no locking."""

    def __init__(self, config: ClientConfig | None, **kwargs: Any) -> None:
        self.config = config or ClientConfig(**kwargs)
        self.stats = Stats()
        self.high = 0  # the largest sequence number this client has seen
        self._buffer: deque[AuditEvent] = deque()
        self._closed = False

    # -- causal order across services ------------------------------------
    def clock_header(self) -> dict[str, str]:
        """Headers to send to another service so its events sort after ours.

        Call ``flush()`` first if the events you want ordered are still buffered.
        """
        return {CLOCK_HEADER: str(self.high)}

    def observe(self, headers: dict[str, str] | str | int) -> None:
        """Take in a caller's clock; later events of this client get larger numbers."""
        value = headers.get(CLOCK_HEADER, "0") if isinstance(headers, dict) else headers
        text = str(value).strip()
        if text.isdigit():
            self.high = max(self.high, int(text))

    # -- buffering --------------------------------------------------------
    def _make(self, action: str, fields: dict[str, Any]) -> AuditEvent:
        fields.setdefault("source", {"service": self.config.service, "host": self.config.host})
        return build_event(action, **fields)

    def _room(self) -> bool:
        return len(self._buffer) < self.config.max_buffer

    def _overflow(self, ev: AuditEvent) -> str:
        """Apply a non-blocking overflow policy; returns the key or raises."""
        if self.config.overflow is Overflow.DROP_NEWEST:
            self.stats.dropped += 1
            self._report(BatchReport(dropped=[ev.idempotency_key], error="buffer full"))
            return ev.idempotency_key
        raise BufferFullError(f"buffer holds {self.config.max_buffer} events")

    def _take(self) -> list[AuditEvent]:
        """Up to one batch from the front of the buffer (by count and bytes)."""
        batch: list[AuditEvent] = []
        size = 0
        while self._buffer and len(batch) < self.config.batch_size:
            nxt = self._buffer[0].ByteSize() + 8
            if batch and size + nxt > self.config.max_batch_bytes:
                break
            batch.append(self._buffer.popleft())
            size += nxt
        return batch

    # -- delivery ---------------------------------------------------------
    def _delivery(self, batch: list[AuditEvent]) -> Generator[Step, Reply, BatchReport]:
        try:
            report, self.high = yield from deliver(batch, self.config, self.high)
        except DeliveryFailed as exc:
            report = BatchReport(failed=[ev.idempotency_key for ev in batch], error=str(exc))
        return report

    def _report(self, report: BatchReport) -> None:
        self.stats.add(report)
        if report.rejected or report.failed:
            log.warning(
                "audit events not delivered",
                rejected=[(r.idempotency_key, r.code, r.reason) for r in report.rejected[:5]],
                failed=len(report.failed),
                error=report.error,
            )
        if self.config.on_report is not None:
            self.config.on_report(report)
