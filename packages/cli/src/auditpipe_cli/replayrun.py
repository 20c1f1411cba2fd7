"""Replaying a data set through the SDK and accounting for every record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from auditpipe import AuditClient, BatchReport, ClientConfig
from auditpipe_cli.progress import Progress
from auditpipe_cli.replay.formats import detect, read
from auditpipe_cli.replay.model import Record, Unmappable


@dataclass
class ReplayResult:
    """Counts for one replay; every source record ends up in exactly one bucket."""

    name: str
    fmt: str
    read: int = 0
    unmappable: Counter[str] = field(default_factory=Counter)
    keys: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    rejected: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def collect(self, report: BatchReport) -> None:
        """Fold one SDK batch report in (called from the SDK's delivery thread)."""
        self.acknowledged.update(key for key, _ in report.acknowledged)
        for r in report.rejected:
            self.rejected[f"{r.code} ({r.field}): {r.reason}"] += 1
        if report.failed:
            self.failed[report.error] += len(report.failed)


def _log(client: AuditClient, rec: Record) -> None:
    client.log(
        rec.action,
        actor=rec.actor,
        resource=rec.resource,
        outcome=rec.outcome,
        event=rec.event,
        occurred_at=rec.occurred_at_us,
        attributes=rec.attributes,
        request_id=rec.request_id,
        trace_id=rec.trace_id,
        idempotency_key=rec.idempotency_key,
        source=rec.source or None,
    )


def replay(
    path: Path,
    *,
    api_key: str,
    ingest_url: str,
    sequencer_url: str,
    fmt: str | None = None,
    name: str | None = None,
    show_progress: bool = True,
) -> ReplayResult:
    """Map every record of ``path`` and send it; returns the accounting."""
    fmt = fmt or detect(path)
    result = ReplayResult(name or path.name, fmt)
    config = ClientConfig(
        api_key=api_key,
        ingest_url=ingest_url,
        sequencer_url=sequencer_url,
        service=f"auditpipe-replay/{fmt}",
        on_report=result.collect,
    )
    progress = Progress(result.name, enabled=show_progress)
    with AuditClient(config) as client:
        for item in read(path, fmt):
            result.read += 1
            progress.advance()
            if isinstance(item, Unmappable):
                result.unmappable[item.reason] += 1
                continue
            try:
                _log(client, item)
            except ValueError as exc:
                result.unmappable[f"cannot build event: {exc}"] += 1
                continue
            result.keys.add(item.idempotency_key)
        client.flush()
    progress.close()
    return result
