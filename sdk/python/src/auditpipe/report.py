"""What happened to each event of a batch, as seen by the client."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditpipe_common.tlog import EventReceipt


@dataclass(frozen=True)
class Rejection:
    """One event ingest refused, with its reason."""

    idempotency_key: str
    code: str
    field: str
    reason: str


@dataclass
class BatchReport:
    """Outcome of one batch: acknowledged keys, rejections, or a delivery failure.

    ``acknowledged`` keys are durably queued and will be stored exactly once.
    ``failed`` keys were given up on (retry deadline passed, or a permanent
    error for the whole batch) and ``error`` says why; they may or may not
    have been stored. ``receipts`` holds, per newly accepted key, ingest's
    signed receipt for it when ingest signs receipts (docs/verification.md):
    keep it to later prove that exactly this event was stored.
    """

    acknowledged: list[tuple[str, int]] = field(default_factory=list)  # (key, seq)
    receipts: dict[str, EventReceipt] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class Stats:
    """Running totals of a client."""

    logged: int = 0
    acknowledged: int = 0
    rejected: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0

    def add(self, report: BatchReport) -> None:
        """Fold one batch report into the totals."""
        self.acknowledged += len(report.acknowledged)
        self.rejected += len(report.rejected)
        self.failed += len(report.failed)
        self.dropped += len(report.dropped)
