"""Auditing a stored log against its signed checkpoints (the core of ``verify``).

The caller streams the rows of one tenant's log in position order — for each
row its position, the leaf hash recomputed from the stored fields
(:func:`~auditpipe_common.tlog.leaf.leaf_hash`) and, if the store keeps one,
the leaf hash recorded when the row was written — and the auditor rebuilds
the tree and compares its root with every checkpoint. It stops at the first
damage and names the first bad position and the kind:

* ``deleted`` — a position is missing;
* ``inserted`` — a position appears again (or goes backwards);
* ``edited`` — a row no longer hashes to the leaf hash recorded for it (changed,
  or moved here from another position);
* ``root_mismatch`` — the rows do not reproduce a checkpoint's root; the bad
  position is at or after ``position`` and before the checkpoint's size;
* ``truncated`` — the log ends before the size of a signed checkpoint;
* ``bad_checkpoint`` — a stored checkpoint is not validly signed for this log.

After retention dropped a prefix, auditing starts from the tree state (a
:class:`CompactRange`) saved at the first kept position; the next checkpoint
proves that state genuine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from auditpipe_common.tlog.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from auditpipe_common.tlog.compact import CompactRange
from auditpipe_common.tlog.errors import TlogError
from auditpipe_common.tlog.note import Verifier, split_note


class Damage(StrEnum):
    """The kinds of damage the auditor names."""

    DELETED = "deleted"
    INSERTED = "inserted"
    EDITED = "edited"
    ROOT_MISMATCH = "root_mismatch"
    TRUNCATED = "truncated"
    BAD_CHECKPOINT = "bad_checkpoint"


@dataclass(frozen=True)
class Finding:
    """The first damage found: its kind, the first bad position (if known), an explanation."""

    kind: Damage
    position: int | None
    detail: str


@dataclass(frozen=True)
class AuditResult:
    """The outcome: ``finding`` is None when the log is intact."""

    finding: Finding | None
    size: int
    verified_size: int
    checkpoints_matched: int

    @property
    def ok(self) -> bool:
        """True when no damage was found."""
        return self.finding is None


def check_checkpoints(
    texts: Iterable[str | bytes], verifiers: Iterable[Verifier], origin: str
) -> tuple[list[Checkpoint], list[Finding]]:
    """Open stored checkpoints: the valid ones, and a finding for each bad one."""
    trusted, good, bad = list(verifiers), [], []
    for text in texts:
        try:
            good.append(open_checkpoint(text, trusted, origin=origin).checkpoint)
        except TlogError as exc:
            bad.append(Finding(Damage.BAD_CHECKPOINT, _claimed_size(text), str(exc)))
    return good, bad


def _claimed_size(text: str | bytes) -> int | None:
    try:
        return parse_checkpoint_body(split_note(text)[0]).size
    except TlogError:
        return None


class LogAuditor:
    """Rebuilds one log from its rows and checks it against checkpoints."""

    def __init__(self, checkpoints: Iterable[Checkpoint], *, start: CompactRange | None = None):
        self.tree = start.copy() if start is not None else CompactRange()
        self.verified_size = self.tree.size
        self.matched = 0
        self.finding: Finding | None = None
        self.pending = sorted(
            (c for c in checkpoints if c.size >= self.tree.size), key=lambda c: c.size
        )
        self._check_due()

    def add(self, index: int, leaf_hash: bytes, recorded_hash: bytes | None = None) -> bool:
        """Feed the next row; False once damage has been found (stop reading then)."""
        if self.finding is not None:
            return False
        expected = self.tree.size
        if index > expected:
            self._fail(Damage.DELETED, expected, f"positions {expected}..{index - 1} are missing")
        elif index < expected:
            detail = f"position {index} appears again after {expected - 1}"
            self._fail(Damage.INSERTED, index, detail)
        elif recorded_hash is not None and recorded_hash != leaf_hash:
            self._fail(Damage.EDITED, index, f"the row at position {index} was changed or moved")
        else:
            self.tree.append(leaf_hash)
            self._check_due()
        return self.finding is None

    def _check_due(self) -> None:
        while self.finding is None and self.pending and self.pending[0].size == self.tree.size:
            cp = self.pending.pop(0)
            if cp.root_hash != self.tree.root():
                self._fail(
                    Damage.ROOT_MISMATCH, self.verified_size,
                    f"positions {self.verified_size}..{cp.size - 1} do not reproduce the root "
                    f"of the checkpoint of size {cp.size}",
                )  # fmt: skip
            else:
                self.verified_size, self.matched = cp.size, self.matched + 1

    def _fail(self, kind: Damage, position: int | None, detail: str) -> None:
        self.finding = Finding(kind, position, detail)

    def finish(self) -> AuditResult:
        """End of the rows: report, including a tail cut below a signed size."""
        if self.finding is None and self.pending:
            size = self.pending[-1].size
            self._fail(
                Damage.TRUNCATED, self.tree.size,
                f"the log ends at size {self.tree.size}, a checkpoint was signed at size {size}",
            )  # fmt: skip
        return AuditResult(self.finding, self.tree.size, self.verified_size, self.matched)


def audit_log(
    rows: Iterable[tuple[int, bytes, bytes | None]],
    checkpoints: Iterable[Checkpoint],
    *,
    start: CompactRange | None = None,
) -> AuditResult:
    """Audit rows ``(position, leaf hash, recorded hash or None)`` against checkpoints."""
    auditor = LogAuditor(checkpoints, start=start)
    for index, leaf_hash, recorded in rows:
        if not auditor.add(index, leaf_hash, recorded):
            break
    return auditor.finish()
