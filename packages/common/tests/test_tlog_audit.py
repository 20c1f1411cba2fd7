"""Auditing a stored log: one test per kind of damage, made by changing the rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog import (
    AuditResult,
    Checkpoint,
    CompactRange,
    Damage,
    LogAuditor,
    Signer,
    audit_log,
    check_checkpoints,
    leaf_hash,
    sign_checkpoint,
    tree_root,
)

ORIGIN = "auditpipe/test/acme"
LOG = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))


@dataclass
class Row:
    """A stored row: position, event, and the leaf hash recorded when it was written."""

    index: int
    event: AuditEvent
    recorded: bytes | None = field(default=None)


def make_rows(n: int) -> list[Row]:
    rows = []
    for i in range(n):
        ev = AuditEvent(tenant="acme", seq=100 + i, idempotency_key=f"k{i}", action="read")
        ev.actor.id = f"u-{i}"
        rows.append(Row(i, ev, leaf_hash(ev, i)))
    return rows


def checkpoints(rows: list[Row], sizes: list[int]) -> list[Checkpoint]:
    hashes = [r.recorded for r in rows]
    assert all(h is not None for h in hashes)
    return [Checkpoint(ORIGIN, s, tree_root([h for h in hashes[:s] if h])) for s in sizes]


def audit(
    rows: list[Row],
    cps: list[Checkpoint],
    *,
    recorded: bool = True,
    start: CompactRange | None = None,
) -> AuditResult:
    return audit_log(
        ((r.index, leaf_hash(r.event, r.index), r.recorded if recorded else None) for r in rows),
        cps,
        start=start,
    )


SIZES = [4, 8, 16, 20]


def test_an_intact_log_passes() -> None:
    rows = make_rows(23)
    result = audit(rows, checkpoints(rows, SIZES))
    assert result.ok
    assert (result.size, result.verified_size, result.checkpoints_matched) == (23, 20, 4)


def test_an_edited_field_is_found_at_its_position() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    rows[10].event.resource.id = "changed"
    result = audit(rows, cps)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.position) == (Damage.EDITED, 10)
    result = audit(rows, cps, recorded=False)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.position) == (Damage.ROOT_MISMATCH, 8)
    assert "8..15" in result.finding.detail


def test_an_edit_with_a_recomputed_recorded_hash_is_caught_by_the_checkpoint() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    rows[17].event.outcome = 3  # type: ignore[assignment]
    rows[17].recorded = leaf_hash(rows[17].event, 17)
    finding = audit(rows, cps).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.ROOT_MISMATCH, 16)


def test_a_deleted_row_is_found() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    del rows[6]
    finding = audit(rows, cps).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.DELETED, 6)


def test_an_inserted_row_is_found() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    extra = Row(12, AuditEvent(tenant="acme", seq=999, action="forged"))
    extra.recorded = leaf_hash(extra.event, 12)
    rows.insert(13, extra)
    finding = audit(rows, cps).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.INSERTED, 12)


def test_reordered_rows_are_found() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    rows[5].index, rows[9].index = 9, 5
    rows.sort(key=lambda r: r.index)
    finding = audit(rows, cps).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.EDITED, 5)
    finding = audit(rows, cps, recorded=False).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.ROOT_MISMATCH, 4)


def test_a_truncated_tail_is_found() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    finding = audit(rows[:18], cps).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.TRUNCATED, 18)
    assert audit(rows[:20], cps).ok  # the tail past the last checkpoint is not yet covered


def test_forged_and_replaced_checkpoints_are_found() -> None:
    rows = make_rows(23)
    good = [sign_checkpoint(cp, [LOG]) for cp in checkpoints(rows, SIZES)]
    forged = good[1].replace("\n8\n", "\n9\n")
    stranger = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
    other_key = sign_checkpoint(checkpoints(rows, [16])[0], [stranger])
    globex = Signer("auditpipe/test/globex", LOG.private_key)
    other_log = sign_checkpoint(Checkpoint("auditpipe/test/globex", 4, b"\x00" * 32), [globex])
    texts = [good[0], forged, good[2], other_key, other_log, "garbage"]
    ok, bad = check_checkpoints(texts, [LOG.verifier(), globex.verifier()], ORIGIN)
    assert [c.size for c in ok] == [4, 16]
    assert [(f.kind, f.position) for f in bad] == [
        (Damage.BAD_CHECKPOINT, 9), (Damage.BAD_CHECKPOINT, 16),
        (Damage.BAD_CHECKPOINT, 4), (Damage.BAD_CHECKPOINT, None),
    ]  # fmt: skip


def test_a_checkpoint_of_a_forked_log_is_found() -> None:
    rows = make_rows(23)
    fork = make_rows(23)
    fork[2].event.action = "write"
    fork[2].recorded = leaf_hash(fork[2].event, 2)
    cps = [*checkpoints(rows, [4, 8]), checkpoints(fork, [8])[0]]
    finding = audit(rows, cps).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.ROOT_MISMATCH, 8)


def test_after_retention_the_kept_suffix_verifies_from_the_saved_state() -> None:
    rows = make_rows(23)
    cps = checkpoints(rows, SIZES)
    state = CompactRange()
    state.extend(r.recorded for r in rows[:10] if r.recorded)
    result = audit(rows[10:], cps, start=CompactRange.from_bytes(state.to_bytes()))
    assert result.ok
    assert (result.verified_size, result.checkpoints_matched) == (20, 2)
    bogus = CompactRange(10, [b"\x01" * 32, b"\x02" * 32])
    finding = audit(rows[10:], cps, start=bogus).finding
    assert finding is not None
    assert (finding.kind, finding.position) == (Damage.ROOT_MISMATCH, 10)


def test_a_state_at_a_checkpoint_size_is_checked_at_once() -> None:
    rows = make_rows(8)
    cps = checkpoints(rows, [4, 8])
    bogus = CompactRange(4, [b"\x01" * 32])
    auditor = LogAuditor(cps, start=bogus)
    assert auditor.finding is not None
    assert auditor.finding.kind == Damage.ROOT_MISMATCH
    assert not auditor.add(4, rows[4].recorded or b"")


@pytest.mark.parametrize("n", [0, 1, 2])
def test_tiny_logs(n: int) -> None:
    rows = make_rows(n)
    assert audit(rows, checkpoints(rows, [n])).ok
