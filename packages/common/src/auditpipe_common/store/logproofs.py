"""Proof bundles built from the store, for third parties to check offline.

An inclusion bundle proves one stored event (found by its idempotency key)
against the newest signed checkpoint that covers it; a consistency bundle
proves that a later checkpoint extends an earlier one. Sibling hashes come
from the log's record of leaf hashes (``log_batches``), the leaf itself from
the event's stored row, so a changed row cannot yield a proof that verifies.
Both formats are specified in docs/verification.md.
"""

from __future__ import annotations

from auditpipe_common.store.logtables import LogTables, StoredCheckpoint
from auditpipe_common.tlog import (
    ConsistencyBundle,
    InclusionBundle,
    consistency_proof,
    inclusion_proof,
    leaf_bytes,
)


class ProofUnavailable(LookupError):
    """No proof can be made (yet): the event or checkpoint is unknown or not covered."""


def inclusion_bundle(tables: LogTables, tenant: str, key: str) -> InclusionBundle:
    """The inclusion bundle of the event ``key`` of ``tenant``."""
    position = tables.position_of(tenant, key)
    if position is None:
        raise ProofUnavailable(f"no stored event with idempotency key {key!r}")
    checkpoint = tables.latest_checkpoint(tenant)
    if checkpoint is None or checkpoint.size <= position:
        raise ProofUnavailable(
            f"position {position} is not covered by a signed checkpoint yet; try again shortly"
        )
    rows = tables.events_at(tenant, position, position + 1)
    if len(rows) != 1:
        raise ProofUnavailable(f"{len(rows)} rows at position {position}: verify the log")
    leaf = leaf_bytes(rows[0][1], position)

    def hashes(lo: int, hi: int) -> list[bytes]:
        return tables.leaf_hashes(tenant, lo, hi)

    proof = inclusion_proof(position, checkpoint.size, hashes)
    return InclusionBundle(checkpoint.note, position, leaf, tuple(proof))


def _checkpoint(tables: LogTables, tenant: str, size: int | None) -> StoredCheckpoint:
    found = tables.latest_checkpoint(tenant, size)
    if found is None or (size is not None and found.size != size):
        raise ProofUnavailable(f"no signed checkpoint of size {size}" if size else "no checkpoint")
    return found


def consistency_bundle(
    tables: LogTables, tenant: str, old_size: int, new_size: int | None = None
) -> ConsistencyBundle:
    """The consistency bundle from the checkpoint of ``old_size`` to that of ``new_size``.

    ``new_size`` defaults to the newest checkpoint.
    """
    old = _checkpoint(tables, tenant, old_size)
    new = _checkpoint(tables, tenant, new_size)
    if not 0 < old.size <= new.size:
        raise ProofUnavailable(f"no consistency proof from size {old.size} to {new.size}")

    def hashes(lo: int, hi: int) -> list[bytes]:
        return tables.leaf_hashes(tenant, lo, hi)

    proof = consistency_proof(old.size, new.size, hashes)
    return ConsistencyBundle(old.note, new.note, tuple(proof))
