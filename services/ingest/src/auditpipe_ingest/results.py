"""Per-event verdicts for one request, and their JSON / protobuf answers."""

from __future__ import annotations

from typing import Any

from auditpipe_common.errors import EventError
from auditpipe_common.schema import AuditEvent, BatchResult, EventResult, EventStatus
from auditpipe_common.tlog import BatchReceipt
from auditpipe_common.tlog.codec import b64

STATUS_NAMES = {
    EventStatus.EVENT_STATUS_ACCEPTED: "accepted",
    EventStatus.EVENT_STATUS_DUPLICATE: "duplicate",
    EventStatus.EVENT_STATUS_REJECTED: "rejected",
}


class Verdicts:
    """Collects what happened to each event of a batch."""

    def __init__(self) -> None:
        self.result = BatchResult()

    def accept(self, index: int, ev: AuditEvent) -> None:
        """The event will be queued."""
        self.result.results.add(
            index=index,
            idempotency_key=ev.idempotency_key,
            seq=ev.seq,
            status=EventStatus.EVENT_STATUS_ACCEPTED,
        )
        self.result.accepted += 1

    def duplicate(self, index: int, ev: AuditEvent) -> None:
        """Same key earlier in this batch; queued once."""
        self.result.results.add(
            index=index,
            idempotency_key=ev.idempotency_key,
            seq=ev.seq,
            status=EventStatus.EVENT_STATUS_DUPLICATE,
            code="duplicate_in_batch",
            reason="same idempotency_key earlier in this batch",
        )
        self.result.duplicates += 1

    def reject(self, index: int, key: str, err: EventError) -> None:
        """The event is invalid."""
        self.result.results.add(
            index=index,
            idempotency_key=key,
            status=EventStatus.EVENT_STATUS_REJECTED,
            code=err.code,
            field=err.field,
            reason=err.reason,
        )
        self.result.rejected += 1

    def attach(self, receipt: BatchReceipt) -> None:
        """Add the signed receipt and each accepted event's hash (in result order)."""
        accepted = [e for e in self.result.results if e.status == EventStatus.EVENT_STATUS_ACCEPTED]
        for result, event_hash in zip(accepted, receipt.event_hashes, strict=True):
            result.event_hash = event_hash
        self.result.receipt = receipt.note

    def to_json(self) -> dict[str, Any]:
        """The JSON answer."""
        r = self.result
        out: dict[str, Any] = {
            "accepted": r.accepted,
            "rejected": r.rejected,
            "duplicates": r.duplicates,
            "results": [_result_json(e) for e in r.results],
        }
        if r.receipt:
            out["receipt"] = r.receipt
        return out


def _result_json(e: EventResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": e.index,
        "idempotency_key": e.idempotency_key,
        "status": STATUS_NAMES.get(e.status, "unspecified"),
    }
    if e.seq:
        out["seq"] = e.seq
    if e.event_hash:
        out["event_hash"] = b64(e.event_hash)
    if e.code:
        out.update(code=e.code, field=e.field, reason=e.reason)
    return out
