"""Ingest receipts: one signature per batch, one verifiable receipt per event."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog import (
    EventReceipt,
    FormatError,
    MemoryTree,
    ProofError,
    SignatureError,
    Signer,
    event_hash,
    event_receipts,
    hash_leaf,
    inclusion_proof,
    open_receipt,
    sign_batch_receipt,
    tree_root,
    verify_event_receipt,
)
from auditpipe_common.tlog.codec import b64
from auditpipe_common.tlog.receipt import Receipt, parse_receipt_body

ORIGIN = "auditpipe/test/acme"
INGEST = Signer("auditpipe/test", Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
TRUSTED = [INGEST.verifier()]
ROOT = b"\x07" * 32


def batch(n: int, tenant: str = "acme") -> list[AuditEvent]:
    events = []
    for i in range(n):
        ev = AuditEvent(tenant=tenant, seq=40 + i, idempotency_key=f"key-{i}", action="x")
        ev.occurred_at, ev.received_at = 1_714_550_400_000_000, 1_714_550_400_000_123
        events.append(ev)
    return events


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 33])
def test_memory_tree_matches_the_rfc_proofs(n: int) -> None:
    leaves = [hash_leaf(bytes([i])) for i in range(n)]
    tree = MemoryTree(leaves)
    assert tree.root() == tree_root(leaves)
    for i in range(n):
        assert tree.inclusion_proof(i) == inclusion_proof(i, n, leaves)
    with pytest.raises(FormatError):
        tree.inclusion_proof(n)
    assert MemoryTree([]).root() == tree_root([])
    with pytest.raises(FormatError):
        MemoryTree([b"short"])


def test_batch_receipt_text_and_every_event_receipt() -> None:
    events = batch(5)
    issued = sign_batch_receipt(events, ORIGIN, [INGEST])
    root = b64(tree_root([event_hash(ev) for ev in events]))
    assert issued.note.startswith(
        f"auditpipe/receipt/v1\n{ORIGIN}\nreceived-at 2024-05-01T08:00:00.000123Z\n"
        f"events 5\nroot {root}\n\n— auditpipe/test "
    )
    assert issued.event_hashes == tuple(event_hash(ev) for ev in events)
    receipts = event_receipts(issued)
    for ev, receipt in zip(events, receipts, strict=True):
        assert EventReceipt.loads(receipt.dumps()) == receipt
        opened = verify_event_receipt(receipt, ev, TRUSTED)
        assert (opened.origin, opened.size) == (ORIGIN, 5)
    assert json.loads(receipts[2].dumps())["index"] == 2


def test_a_changed_or_other_event_does_not_match() -> None:
    events = batch(4)
    receipts = event_receipts(sign_batch_receipt(events, ORIGIN, [INGEST]))
    with pytest.raises(ProofError, match="differs from the one"):
        verify_event_receipt(receipts[1], events[2], TRUSTED)
    events[1].attributes = '{"x":1}'
    with pytest.raises(ProofError, match="differs from the one"):
        verify_event_receipt(receipts[1], events[1], TRUSTED)
    late = batch(4)[1]
    late.received_at += 1
    with pytest.raises(ProofError, match="received_at"):
        verify_event_receipt(receipts[1], late, TRUSTED)
    with pytest.raises(ProofError, match="tenant"):
        verify_event_receipt(receipts[1], batch(4, "globex")[1], TRUSTED)


def test_untrusted_or_forged_receipts_are_rejected() -> None:
    events = batch(3)
    issued = sign_batch_receipt(events, ORIGIN, [INGEST])
    receipt = event_receipts(issued)[0]
    stranger = Signer("auditpipe/test", Ed25519PrivateKey.from_private_bytes(b"\x04" * 32))
    with pytest.raises(SignatureError):
        verify_event_receipt(receipt, events[0], [stranger.verifier()])
    forged = EventReceipt(issued.note.replace("events 3", "events 4"), 0, receipt.proof)
    with pytest.raises(SignatureError):
        verify_event_receipt(forged, events[0], TRUSTED)
    assert open_receipt(issued.note, TRUSTED).size == 3


def test_sign_batch_receipt_checks_its_input() -> None:
    with pytest.raises(FormatError):
        sign_batch_receipt([], ORIGIN, [INGEST])
    mixed = batch(2)
    mixed[1].received_at += 1
    with pytest.raises(FormatError, match="received_at"):
        sign_batch_receipt(mixed, ORIGIN, [INGEST])
    with pytest.raises(FormatError, match="belong"):
        sign_batch_receipt(batch(2, "globex"), ORIGIN, [INGEST])


def _body(**lines: str) -> str:
    parts = {
        "tag": "auditpipe/receipt/v1", "origin": ORIGIN,
        "time": "received-at 2024-05-01T08:00:00.000000Z", "events": "events 3",
        "root": f"root {b64(ROOT)}",
    } | lines  # fmt: skip
    return "".join(v + "\n" for v in parts.values())


def test_receipt_body_round_trip() -> None:
    assert parse_receipt_body(_body()) == Receipt(ORIGIN, 1_714_550_400_000_000, 3, ROOT)


@pytest.mark.parametrize(
    "body",
    [
        _body(tag="auditpipe/receipt/v2"),
        _body(events="events 03"),
        _body(events="events 0"),
        _body(events="count 3"),
        _body(time="received-at 2024-05-01T10:00:00+02:00"),
        _body(time="received-at 2024-05-01T08:00:00.000000z"),
        _body(root=f"root {b64(ROOT[:8])}"),
        _body(root="root nope"),
        _body(origin=""),
        _body() + "extra\n",
    ],
)
def test_malformed_receipts(body: str) -> None:
    with pytest.raises(FormatError):
        parse_receipt_body(body)


@pytest.mark.parametrize(
    "obj",
    [
        {"format": "auditpipe/event-receipt/v2", "receipt": "x", "index": 0, "proof": []},
        {"format": "auditpipe/event-receipt/v1", "receipt": "x", "index": -1, "proof": []},
        {"format": "auditpipe/event-receipt/v1", "receipt": 1, "index": 0, "proof": []},
        {"format": "auditpipe/event-receipt/v1", "receipt": "x", "index": 0},
    ],
)
def test_malformed_event_receipts(obj: object) -> None:
    with pytest.raises(FormatError):
        EventReceipt.from_json(obj)
