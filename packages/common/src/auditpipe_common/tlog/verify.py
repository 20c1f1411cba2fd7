"""The standalone verifier: checks proofs against signed checkpoints, offline.

Needs only the trusted verifier keys, never a database or a service. Every
function raises a :class:`TlogError` subclass naming what is wrong and
returns what was proven on success.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog.bundle import ConsistencyBundle, InclusionBundle
from auditpipe_common.tlog.checkpoint import Checkpoint, open_checkpoint, origin_tenant
from auditpipe_common.tlog.errors import ProofError
from auditpipe_common.tlog.leaf import decode_leaf
from auditpipe_common.tlog.merkle import hash_leaf, verify_consistency, verify_inclusion
from auditpipe_common.tlog.note import Verifier
from auditpipe_common.tlog.receipt import EventReceipt, Receipt, verify_event_receipt


@dataclass(frozen=True)
class InclusionResult:
    """Proven: ``event`` is leaf ``index`` of the log at ``checkpoint``, signed by ``signers``."""

    checkpoint: Checkpoint
    signers: tuple[str, ...]
    event: AuditEvent
    index: int
    leaf_hash: bytes


@dataclass(frozen=True)
class ConsistencyResult:
    """Proven: the log at ``new`` extends the log at ``old`` (append-only)."""

    old: Checkpoint
    new: Checkpoint
    signers: tuple[str, ...]


def _names(verifiers: Iterable[Verifier]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.encode() for v in verifiers))


def verify_event_inclusion(
    checkpoint: str | bytes,
    leaf: bytes,
    index: int,
    proof: Sequence[bytes],
    verifiers: Iterable[Verifier],
    *,
    origin: str | None = None,
) -> InclusionResult:
    """Check that canonical ``leaf`` bytes are leaf ``index`` of the signed checkpoint.

    Also checks that the leaf states the same position and that its tenant
    is the tenant named by the checkpoint's origin.
    """
    signed = open_checkpoint(checkpoint, verifiers, origin=origin)
    cp = signed.checkpoint
    ev, leaf_index = decode_leaf(leaf)
    if leaf_index != index:
        raise ProofError(f"the leaf says it is at position {leaf_index}, the proof is for {index}")
    if ev.tenant != origin_tenant(cp.origin):
        raise ProofError(f"the event of tenant {ev.tenant!r} cannot be in log {cp.origin!r}")
    leaf_hash = hash_leaf(leaf)
    verify_inclusion(leaf_hash, index, cp.size, proof, cp.root_hash)
    return InclusionResult(cp, _names(signed.note.verified_by), ev, index, leaf_hash)


def verify_inclusion_bundle(
    bundle: InclusionBundle, verifiers: Iterable[Verifier], *, origin: str | None = None
) -> InclusionResult:
    """Check an inclusion bundle (see :mod:`auditpipe_common.tlog.bundle`)."""
    return verify_event_inclusion(
        bundle.checkpoint, bundle.leaf, bundle.leaf_index, bundle.proof, verifiers, origin=origin
    )


def verify_checkpoint_consistency(
    old: str | bytes,
    new: str | bytes,
    proof: Sequence[bytes],
    verifiers: Iterable[Verifier],
    *,
    origin: str | None = None,
) -> ConsistencyResult:
    """Check that signed checkpoint ``new`` extends signed checkpoint ``old``."""
    trusted = list(verifiers)
    old_signed = open_checkpoint(old, trusted, origin=origin)
    new_signed = open_checkpoint(new, trusted, origin=origin)
    a, b = old_signed.checkpoint, new_signed.checkpoint
    if a.origin != b.origin:
        raise ProofError(f"checkpoints of different logs: {a.origin!r} and {b.origin!r}")
    verify_consistency(a.size, b.size, proof, a.root_hash, b.root_hash)
    signers = old_signed.note.verified_by + new_signed.note.verified_by
    return ConsistencyResult(a, b, _names(signers))


def verify_consistency_bundle(
    bundle: ConsistencyBundle, verifiers: Iterable[Verifier], *, origin: str | None = None
) -> ConsistencyResult:
    """Check a consistency bundle (see :mod:`auditpipe_common.tlog.bundle`)."""
    return verify_checkpoint_consistency(
        bundle.old_checkpoint, bundle.new_checkpoint, bundle.proof, verifiers, origin=origin
    )


def verify_receipt_inclusion(
    receipt: EventReceipt,
    bundle: InclusionBundle,
    verifiers: Iterable[Verifier],
    *,
    receipt_verifiers: Iterable[Verifier] | None = None,
) -> tuple[Receipt, InclusionResult]:
    """Check that the event an ingest receipt was signed for is in the log.

    The receipt is checked against ``receipt_verifiers`` (default: the same
    keys as the checkpoint), the bundle as by :func:`verify_inclusion_bundle`.
    """
    trusted = list(verifiers)
    result = verify_inclusion_bundle(bundle, trusted)
    keys = trusted if receipt_verifiers is None else receipt_verifiers
    opened = verify_event_receipt(receipt, result.event, keys)
    if opened.origin != result.checkpoint.origin:
        raise ProofError(
            f"receipt is for log {opened.origin}, proof for {result.checkpoint.origin}"
        )
    return opened, result
