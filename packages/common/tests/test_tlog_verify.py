"""The standalone verifier: bundles, checkpoints, receipts, and every way they can be wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog import (
    Checkpoint,
    ConsistencyBundle,
    FormatError,
    InclusionBundle,
    ProofError,
    SignatureError,
    Signer,
    consistency_proof,
    event_receipts,
    hash_leaf,
    inclusion_proof,
    leaf_bytes,
    sign_batch_receipt,
    sign_checkpoint,
    tree_root,
    verify_checkpoint_consistency,
    verify_consistency_bundle,
    verify_event_inclusion,
    verify_inclusion_bundle,
    verify_receipt_inclusion,
)

ORIGIN = "auditpipe/test/acme"
LOG = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
TRUSTED = [LOG.verifier()]


def event(i: int, tenant: str = "acme") -> AuditEvent:
    ev = AuditEvent(tenant=tenant, seq=10 + i, idempotency_key=f"key-{i}", action="read")
    ev.occurred_at, ev.received_at = 1_714_550_400_000_000 + i, 1_714_550_400_500_000
    ev.actor.id = f"u-{i}"
    return ev


class Log:
    """A small in-memory log with signed checkpoints, as the worker would keep it."""

    def __init__(self, n: int, origin: str = ORIGIN, signer: Signer = LOG) -> None:
        tenant = origin.rsplit("/", 1)[1]
        self.leaves = [leaf_bytes(event(i, tenant), i) for i in range(n)]
        self.hashes = [hash_leaf(b) for b in self.leaves]
        self.origin, self.signer = origin, signer

    def checkpoint(self, size: int) -> str:
        cp = Checkpoint(self.origin, size, tree_root(self.hashes[:size]), 1_714_550_500_000_000)
        return sign_checkpoint(cp, [self.signer])

    def bundle(self, index: int, size: int) -> InclusionBundle:
        proof = tuple(inclusion_proof(index, size, self.hashes))
        return InclusionBundle(self.checkpoint(size), index, self.leaves[index], proof)


def test_every_event_of_a_log_is_proven() -> None:
    log = Log(13)
    for size in (1, 8, 13):
        for index in range(size):
            result = verify_inclusion_bundle(log.bundle(index, size), TRUSTED, origin=ORIGIN)
            assert (result.index, result.event.seq, result.checkpoint.size) == (
                index,
                10 + index,
                size,
            )
            assert result.leaf_hash == log.hashes[index]
            assert result.signers == (LOG.verifier().encode(),)


def test_bundle_json_round_trip() -> None:
    bundle = Log(5).bundle(3, 5)
    assert InclusionBundle.loads(bundle.dumps()) == bundle
    assert json.loads(bundle.dumps())["format"] == "auditpipe/inclusion-proof/v1"
    c = ConsistencyBundle(Log(5).checkpoint(2), Log(5).checkpoint(5), (b"\x00" * 32,))
    assert ConsistencyBundle.loads(c.dumps()) == c


def test_a_changed_event_is_rejected() -> None:
    log = Log(9)
    bundle = log.bundle(4, 9)
    ev = event(4)
    ev.actor.id = "someone-else"
    with pytest.raises(ProofError, match="does not lead to the root"):
        verify_event_inclusion(bundle.checkpoint, leaf_bytes(ev, 4), 4, bundle.proof, TRUSTED)


def test_the_position_must_agree() -> None:
    log = Log(9)
    b = log.bundle(4, 9)
    with pytest.raises(ProofError, match="position"):
        verify_event_inclusion(b.checkpoint, b.leaf, 5, b.proof, TRUSTED)
    moved = leaf_bytes(event(4), 5)
    with pytest.raises(ProofError):
        verify_event_inclusion(b.checkpoint, moved, 5, log.bundle(5, 9).proof, TRUSTED)


def test_an_event_of_another_tenant_is_not_in_this_log() -> None:
    other = Log(4, origin="auditpipe/test/globex")
    bundle = other.bundle(1, 4)
    verify_inclusion_bundle(bundle, TRUSTED)
    forged_origin = Log(4)
    forged_origin.leaves[1] = other.leaves[1]
    forged_origin.hashes[1] = other.hashes[1]
    with pytest.raises(ProofError, match="tenant"):
        verify_inclusion_bundle(forged_origin.bundle(1, 4), TRUSTED)


def test_untrusted_or_wrong_log_checkpoints_are_rejected() -> None:
    stranger = Signer(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
    with pytest.raises(SignatureError):
        verify_inclusion_bundle(Log(4, signer=stranger).bundle(0, 4), TRUSTED)
    with pytest.raises(SignatureError, match="expected"):
        verify_inclusion_bundle(Log(4).bundle(0, 4), TRUSTED, origin="auditpipe/test/globex")


def test_a_proof_for_another_tree_size_is_rejected() -> None:
    log = Log(9)
    b = log.bundle(2, 9)
    stale = InclusionBundle(log.checkpoint(8), 2, b.leaf, b.proof)
    with pytest.raises(ProofError):
        verify_inclusion_bundle(stale, TRUSTED)


def _bundle_obj() -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(Log(4).bundle(1, 4).dumps())
    return obj


@pytest.mark.parametrize(
    "patch",
    [
        {"format": "auditpipe/inclusion-proof/v2"},
        {"leaf_index": -1},
        {"leaf_index": "1"},
        {"leaf_index": True},
        {"leaf": "not base64"},
        {"proof": "x"},
        {"proof": [1]},
        {"checkpoint": 5},
        {"extra": 1},
        {"checkpoint": None},
    ],
)
def test_malformed_inclusion_bundles(patch: dict[str, Any]) -> None:
    obj = _bundle_obj()
    for k, v in patch.items():
        if v is None:
            del obj[k]
        else:
            obj[k] = v
    with pytest.raises(FormatError):
        InclusionBundle.from_json(obj)


def test_malformed_bundle_text() -> None:
    with pytest.raises(FormatError, match="not valid JSON"):
        InclusionBundle.loads("{")
    with pytest.raises(FormatError):
        ConsistencyBundle.loads("[]")
    with pytest.raises(FormatError):
        ConsistencyBundle.from_json({"format": "auditpipe/consistency-proof/v1"})


def test_consistency_between_checkpoints() -> None:
    log = Log(20)
    for old in range(1, 21):
        proof = consistency_proof(old, 20, log.hashes)
        bundle = ConsistencyBundle(log.checkpoint(old), log.checkpoint(20), tuple(proof))
        result = verify_consistency_bundle(bundle, TRUSTED, origin=ORIGIN)
        assert (result.old.size, result.new.size) == (old, 20)
    proof = consistency_proof(5, 20, log.hashes)
    with pytest.raises(ProofError):
        verify_checkpoint_consistency(log.checkpoint(20), log.checkpoint(5), proof, TRUSTED)


def test_a_forked_log_is_not_consistent() -> None:
    log, fork = Log(12), Log(12)
    ev = event(3)
    ev.action = "delete"
    fork.leaves[3] = leaf_bytes(ev, 3)
    fork.hashes[3] = hash_leaf(fork.leaves[3])
    proof = consistency_proof(6, 12, fork.hashes)
    with pytest.raises(ProofError):
        verify_checkpoint_consistency(log.checkpoint(6), fork.checkpoint(12), proof, TRUSTED)
    with pytest.raises(ProofError, match="same tree size"):
        verify_checkpoint_consistency(log.checkpoint(12), fork.checkpoint(12), [], TRUSTED)


def test_checkpoints_of_different_logs_are_not_consistent() -> None:
    a, b = Log(6), Log(6, origin="auditpipe/test/globex")
    proof = consistency_proof(3, 6, b.hashes)
    with pytest.raises(ProofError, match="different logs"):
        verify_checkpoint_consistency(a.checkpoint(3), b.checkpoint(6), proof, TRUSTED)


def test_receipts_against_inclusion_bundles() -> None:
    ingest = Signer("auditpipe/test", Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
    log = Log(6)
    sent = [event(i) for i in range(3, 6)]
    receipts = event_receipts(sign_batch_receipt(sent, ORIGIN, [ingest]))
    got, result = verify_receipt_inclusion(
        receipts[1], log.bundle(4, 6), TRUSTED, receipt_verifiers=[ingest.verifier()]
    )
    assert (got.size, result.index, result.event.seq) == (3, 4, 14)
    with pytest.raises(ProofError, match="differs"):
        verify_receipt_inclusion(
            receipts[1], log.bundle(3, 6), TRUSTED, receipt_verifiers=[ingest.verifier()]
        )
    with pytest.raises(SignatureError):
        verify_receipt_inclusion(receipts[1], log.bundle(4, 6), TRUSTED)
    other = Log(6, origin="auditpipe/test/globex")
    theirs = event_receipts(sign_batch_receipt([event(4, "globex")], other.origin, [LOG]))
    with pytest.raises(ProofError, match="tenant"):
        verify_receipt_inclusion(theirs[0], log.bundle(4, 6), TRUSTED)
