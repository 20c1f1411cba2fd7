"""The published test vectors in docs/vectors/ are exactly what the library produces.

Regenerate them (only when a format deliberately changes, with a new version):
``uv run python packages/common/tests/test_tlog_vectors.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.schema import AuditEvent, Outcome
from auditpipe_common.tlog import (
    Checkpoint,
    CompactRange,
    ConsistencyBundle,
    EventReceipt,
    InclusionBundle,
    Signer,
    TlogError,
    Verifier,
    consistency_proof,
    event_bytes,
    event_hash,
    event_receipts,
    hash_leaf,
    inclusion_proof,
    leaf_bytes,
    leaf_from_json,
    leaf_json,
    private_key_pem,
    sign_batch_receipt,
    sign_checkpoint,
    tree_root,
    verify_consistency_bundle,
    verify_inclusion_bundle,
    verify_receipt_inclusion,
)
from auditpipe_common.tlog.codec import b64

VECTORS = Path(__file__).resolve().parents[3] / "docs" / "vectors"
ORIGIN = "auditpipe/vectors/acme"
RECEIPT_KEY_NAME = "auditpipe/vectors"
T0 = 1_714_550_400_000_000  # 2024-05-01T08:00:00Z


def _key(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


LOG_KEY = _key("auditpipe test vector log key v1")
RECEIPT_KEY = _key("auditpipe test vector receipt key v1")


def _event(i: int) -> AuditEvent:
    ev = AuditEvent(
        tenant="acme", seq=1000 + 7 * i, idempotency_key=f"018f3a1c-0000-7000-8000-{i:012x}",
        occurred_at=T0 + i * 1_000_000 - 250, received_at=T0 + (i // 4) * 4_000_000 + 17,
        event="invoice.approve", action="approve", outcome=Outcome.ValueType(1 + i % 4),
        request_id=f"req-{i}", trace_id=f"{i:032x}",
        attributes=json.dumps({"amount_cents": 129900 + i, "n": i}, separators=(",", ":")),
    )  # fmt: skip
    ev.actor.id, ev.actor.type, ev.actor.ip = f"u-{i}", "user", f"203.0.113.{i}"
    ev.resource.type, ev.resource.id = "invoice", f"inv-{i}"
    ev.source.service, ev.source.sdk_name, ev.source.sdk_version = "billing", "auditpipe", "0.1.0"
    return ev


def _odd_events() -> list[tuple[str, AuditEvent, int]]:
    full = _event(3)
    full.actor.role, full.actor.user_agent = "approver", "Mozilla/5.0 (X11; Linux)"
    full.resource.name, full.source.host = "Facture n°7 – août", "host-1.example"
    full.attributes = '{"big": 18446744073709551617, "text": "ü✓ 😀", "nested": {"l": [1, null]}}'
    edge = AuditEvent(
        tenant="t", seq=2**64 - 1, idempotency_key="k", occurred_at=-1,
        received_at=2**63 - 1, outcome=Outcome.ValueType(-7), event="nul\x00inside", attributes="",
    )  # fmt: skip
    return [
        ("every field set, non-ASCII text and exact big integers", full, 3),
        ("the empty event at position 0 (absent actor, resource, source)", AuditEvent(), 0),
        ("extreme integers and a NUL character", edge, 2**64 - 1),
    ]


def _leaf_vectors() -> dict[str, Any]:
    cases = []
    for description, ev, index in _odd_events():
        data = leaf_bytes(ev, index)
        cases.append({
            "description": description, "leaf_json": leaf_json(ev, index),
            "leaf_bytes_hex": data.hex(), "leaf_hash_hex": hash_leaf(data).hex(),
            "event_bytes_hex": event_bytes(ev).hex(), "event_hash_hex": event_hash(ev).hex(),
        })  # fmt: skip
    return {"format": "auditpipe/leaf/v1", "cases": cases}


def _tree_vectors(leaves: list[bytes], size: int) -> dict[str, Any]:
    states = []
    tree = CompactRange()
    for n in range(size + 1):
        states.append(
            {"size": n, "root": b64(tree.root()), "state_bytes_hex": tree.to_bytes().hex()}
        )
        if n < size:
            tree.append(leaves[n])
    return {
        "leaf_hashes": [b64(h) for h in leaves[:size]],
        "sizes": states,
        "inclusion": [
            {"index": m, "size": size, "proof": [b64(h) for h in inclusion_proof(m, size, leaves)]}
            for m in range(size)
        ],
        "consistency": [
            {
                "old_size": m,
                "new_size": size,
                "proof": [b64(h) for h in consistency_proof(m, size, leaves)],
            }
            for m in range(1, size + 1)
        ],
    }


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def build_vectors() -> dict[str, bytes]:
    """Every vector file, by name, as the library produces it."""
    log, receipts = Signer(ORIGIN, LOG_KEY), Signer(RECEIPT_KEY_NAME, RECEIPT_KEY)
    events = [_event(i) for i in range(7)]
    leaves = [hash_leaf(leaf_bytes(ev, i)) for i, ev in enumerate(events)]
    cp4 = sign_checkpoint(Checkpoint(ORIGIN, 4, tree_root(leaves[:4]), T0 + 4_000_000), [log])
    cp7 = sign_checkpoint(Checkpoint(ORIGIN, 7, tree_root(leaves), T0 + 7_000_000), [log])
    bundle = InclusionBundle(cp7, 5, leaf_bytes(events[5], 5), tuple(inclusion_proof(5, 7, leaves)))
    tampered_event = _event(5)
    tampered_event.attributes = tampered_event.attributes.replace("129905", "129906")
    tampered = InclusionBundle(cp7, 5, leaf_bytes(tampered_event, 5), bundle.proof)
    consistency = ConsistencyBundle(cp4, cp7, tuple(consistency_proof(4, 7, leaves)))
    issued = sign_batch_receipt(events[4:], ORIGIN, [receipts])  # the batch of entries 4-6
    return {
        "leaf-v1.json": _json(_leaf_vectors()),
        "tree-v1.json": _json(
            {"events": [leaf_json(ev, i) for i, ev in enumerate(events)]} | _tree_vectors(leaves, 7)
        ),
        "verifier-key-v1.txt": (log.verifier().encode() + "\n").encode(),
        "receipt-verifier-key-v1.txt": (receipts.verifier().encode() + "\n").encode(),
        "test-log-key-v1.pem": private_key_pem(LOG_KEY),
        "checkpoint-v1-size4.txt": cp4.encode(),
        "checkpoint-v1.txt": cp7.encode(),
        "inclusion-bundle-v1.json": bundle.dumps().encode(),
        "inclusion-bundle-v1-tampered.json": tampered.dumps().encode(),
        "consistency-bundle-v1.json": consistency.dumps().encode(),
        "receipt-batch-v1.json": _json(
            {"note": issued.note, "event_hashes": [b64(h) for h in issued.event_hashes]}
        ),
        "receipt-v1.json": event_receipts(issued)[1].dumps().encode(),
    }


def test_vector_files_are_reproduced_byte_for_byte() -> None:
    built = build_vectors()
    on_disk = {p.name for p in VECTORS.iterdir() if p.name != "README.md"}
    assert on_disk == set(built), "docs/vectors/ has missing or unexpected files"
    for name, data in built.items():
        assert (VECTORS / name).read_bytes() == data, f"docs/vectors/{name} drifted"


def _vkey(name: str) -> list[Verifier]:
    return [Verifier.parse((VECTORS / name).read_text())]


def test_vector_files_verify_as_documented() -> None:
    trusted = _vkey("verifier-key-v1.txt")
    bundle = InclusionBundle.loads((VECTORS / "inclusion-bundle-v1.json").read_bytes())
    result = verify_inclusion_bundle(bundle, trusted, origin=ORIGIN)
    assert (result.index, result.event.seq, result.checkpoint.size) == (5, 1035, 7)
    tampered = InclusionBundle.loads((VECTORS / "inclusion-bundle-v1-tampered.json").read_bytes())
    with pytest.raises(TlogError):
        verify_inclusion_bundle(tampered, trusted)
    consistency = ConsistencyBundle.loads((VECTORS / "consistency-bundle-v1.json").read_bytes())
    assert verify_consistency_bundle(consistency, trusted).new.size == 7
    receipt = EventReceipt.loads((VECTORS / "receipt-v1.json").read_bytes())
    verify_receipt_inclusion(
        receipt, bundle, trusted, receipt_verifiers=_vkey("receipt-verifier-key-v1.txt")
    )


def test_leaf_vectors_decode_from_their_json_form() -> None:
    doc = json.loads((VECTORS / "leaf-v1.json").read_text())
    for case in doc["cases"]:
        ev, index = leaf_from_json(case["leaf_json"])
        assert leaf_bytes(ev, index).hex() == case["leaf_bytes_hex"]


def test_the_specification_quotes_the_current_vectors() -> None:
    spec = (VECTORS.parent / "verification.md").read_text()
    assert (VECTORS / "checkpoint-v1.txt").read_text() in spec
    assert (VECTORS / "verifier-key-v1.txt").read_text().strip() in spec


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: test_tlog_vectors.py --write")
    VECTORS.mkdir(parents=True, exist_ok=True)
    for name, data in build_vectors().items():
        (VECTORS / name).write_bytes(data)
        print(f"wrote docs/vectors/{name}")
