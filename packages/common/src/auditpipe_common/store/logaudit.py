"""Verifying a tenant's stored log against its signed checkpoints (``auditpipe verify``).

Reads the log's record (``log_batches``: every position's leaf hash) and the
events by position, side by side, and feeds :class:`LogAuditor`:

* a position with one row: the leaf hash recomputed from the row must equal
  the recorded one (else ``edited``: changed, or moved there from elsewhere);
* a position with no row: allowed only once its batch is past retention
  (``expired``, the recorded hash stands in for it); otherwise ``deleted``;
* a position with two rows, two different records of one position, or a
  record that skips positions: ``inserted`` / ``deleted``;
* every checkpoint's root must come out of the recorded hashes (else
  ``root_mismatch``), the log must reach every signed size (else
  ``truncated``), and every stored checkpoint must be validly signed for this
  log by a trusted key (else ``bad_checkpoint``).

It stops at the first damage and names the position and kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from auditpipe_common.schema import AuditEvent
from auditpipe_common.store.logtables import LogBatch, LogTables
from auditpipe_common.tlog import (
    AuditResult,
    Damage,
    Finding,
    LogAuditor,
    Verifier,
    check_checkpoints,
    leaf_hash,
)

WINDOW = 20_000


@dataclass(frozen=True)
class LogReport:
    """The outcome of verifying one tenant's stored log."""

    tenant: str
    origin: str
    ok: bool
    size: int
    verified_size: int
    checkpoints: int
    checkpoints_matched: int
    rows: int
    expired: int
    finding: Finding | None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-compatible data."""
        out = asdict(self)
        out["finding"] = None
        if self.finding is not None:
            f = self.finding
            out["finding"] = {"kind": str(f.kind), "position": f.position, "detail": f.detail}
        return out


class _Rows:
    """The events of a log by position, fetched window by window."""

    def __init__(self, tables: LogTables, tenant: str) -> None:
        self._tables, self._tenant = tables, tenant
        self._lo = self._hi = 0
        self._at: dict[int, list[AuditEvent]] = {}

    def at(self, position: int) -> list[AuditEvent]:
        if not self._lo <= position < self._hi:
            self._lo, self._hi = position, position + WINDOW
            self._at = {}
            for pos, ev in self._tables.events_at(self._tenant, self._lo, self._hi):
                self._at.setdefault(pos, []).append(ev)
        return self._at.get(position, [])


class _Check:
    """One pass over the record and the rows."""

    def __init__(self, tables: LogTables, tenant: str, auditor: LogAuditor, now_us: int) -> None:
        self.rows = _Rows(tables, tenant)
        self.auditor = auditor
        self.now_us = now_us
        self.present = self.expired = 0
        self.previous: LogBatch | None = None

    def batch(self, b: LogBatch) -> bool:
        """Feed one recorded batch; False once damage is found."""
        size = self.auditor.tree.size
        prev = self.previous
        if prev is not None and b.start == prev.start and b.leaf_hashes == prev.leaf_hashes:
            return True  # the same batch recorded twice (a replayed append)
        if b.start < size:
            return self._fail(Damage.INSERTED, b.start, "two different records of this position")
        if b.start > size:
            return self._fail(Damage.DELETED, size, f"no record of positions {size}..{b.start - 1}")
        self.previous = b
        return all(self.position(b, p) for p in range(b.start, b.end))

    def position(self, b: LogBatch, p: int) -> bool:
        recorded = b.leaf_hash(p)
        found = self.rows.at(p)
        if len(found) > 1:
            return self._fail(Damage.INSERTED, p, f"{len(found)} rows at position {p}")
        if found:
            self.present += 1
            return self.auditor.add(p, leaf_hash(found[0], p), recorded)
        if b.expires_at_us > self.now_us:
            return self._fail(Damage.DELETED, p, f"the row at position {p} is missing")
        self.expired += 1
        return self.auditor.add(p, recorded)

    def _fail(self, kind: Damage, position: int, detail: str) -> bool:
        self.auditor.finding = Finding(kind, position, detail)
        return False


def audit_stored_log(
    tables: LogTables, tenant: str, origin: str, verifiers: Iterable[Verifier], now_us: int
) -> LogReport:
    """Verify ``tenant``'s stored log; ``origin`` is its name in the checkpoints."""
    stored = tables.checkpoints(tenant)
    good, bad = check_checkpoints([c.note for c in stored], verifiers, origin)
    auditor = LogAuditor(good)
    check = _Check(tables, tenant, auditor, now_us)
    if bad:
        auditor.finding = bad[0]
    else:
        for b in tables.batches(tenant):
            if not check.batch(b):
                break
    result: AuditResult = auditor.finish()
    return LogReport(
        tenant=tenant,
        origin=origin,
        ok=result.ok,
        size=result.size,
        verified_size=result.verified_size,
        checkpoints=len(stored),
        checkpoints_matched=result.checkpoints_matched,
        rows=check.present,
        expired=check.expired,
        finding=result.finding,
    )
