"""Signed receipts in ingest's answers (real redis-server): one signature per request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from auditpipe.events import build_event
from auditpipe_cli.remote import create_key
from auditpipe_common.schema import AuditEvent, BatchResult, EventBatch, EventStatus
from auditpipe_common.streams import BATCH_FIELD, shard_for, stream_key
from auditpipe_common.tlog import (
    BatchReceipt,
    Verifier,
    event_receipts,
    generate_key_file,
    open_receipt,
    verifier_key,
    verify_event_receipt,
)
from auditpipe_ingest.app import PROTOBUF, create_app
from auditpipe_ingest.settings import IngestSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def receipt_key(tmp_path: Path) -> tuple[Path, Verifier]:
    path = tmp_path / "ingest.pem"
    key = generate_key_file(path)
    return path, Verifier.parse(verifier_key(key, "auditpipe/prod"))


@pytest.fixture
def client(redis_url: str, receipt_key: tuple[Path, Verifier]) -> Iterator[TestClient]:
    settings = IngestSettings(
        redis_url=SecretStr(redis_url),
        stream_shards=2,
        log_deployment="prod",
        receipt_key_file=receipt_key[0],
    )
    with TestClient(create_app(settings)) as c:
        c.headers["authorization"] = f"Bearer {create_key(redis_url, 'acme')}"
        yield c


def queued(redis_url: str) -> list[AuditEvent]:
    import redis

    r = redis.Redis.from_url(redis_url)
    entries = r.xrange(stream_key("auditpipe", shard_for("acme", 2)))
    r.close()
    return [ev for _, f in entries for ev in EventBatch.FromString(f[BATCH_FIELD]).events]


def batch(n: int) -> list[AuditEvent]:
    events = []
    for i in range(1, n + 1):
        ev = build_event("doc.read", actor={"id": f"u{i}"}, attributes={"i": i})
        ev.seq = i
        events.append(ev)
    return events


def test_the_receipt_covers_exactly_the_accepted_events(
    client: TestClient, redis_url: str, receipt_key: tuple[Path, Verifier]
) -> None:
    events = batch(5)
    events[2].actor.id = ""  # rejected: not in the receipt
    body = EventBatch(events=events).SerializeToString()
    r = client.post("/v1/events", content=body, headers={"content-type": PROTOBUF})
    result = BatchResult.FromString(r.content)
    accepted = [x for x in result.results if x.status == EventStatus.EVENT_STATUS_ACCEPTED]
    assert len(accepted) == 4
    assert all(not x.event_hash for x in result.results if x not in accepted)
    receipt = open_receipt(result.receipt, [receipt_key[1]])
    assert (receipt.origin, receipt.size) == ("auditpipe/prod/acme", 4)
    per_event = event_receipts(BatchReceipt(result.receipt, tuple(x.event_hash for x in accepted)))
    stored = queued(redis_url)  # what the worker will store, received_at included
    assert [e.idempotency_key for e in stored] == [x.idempotency_key for x in accepted]
    for ev, er in zip(stored, per_event, strict=True):
        verify_event_receipt(er, ev, [receipt_key[1]])
    forged = AuditEvent()
    forged.CopyFrom(stored[1])
    forged.actor.id = "mallory"
    with pytest.raises(Exception, match="differs"):
        verify_event_receipt(per_event[1], forged, [receipt_key[1]])


def test_json_answers_carry_the_receipt_and_base64_event_hashes(
    client: TestClient, receipt_key: tuple[Path, Verifier]
) -> None:
    ev = {
        "action": "read",
        "seq": 7,
        "actor": {"id": "u"},
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    body = {"events": [ev | {"idempotency_key": batch(1)[0].idempotency_key}]}
    answer = client.post("/v1/events", json=body).json()
    assert answer["accepted"] == 1, answer["results"]
    assert len(base64.b64decode(answer["results"][0]["event_hash"])) == 32
    assert open_receipt(answer["receipt"], [receipt_key[1]]).size == 1
