"""Ingest with a real redis-server: per-event verdicts, limits, tenant scoping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from auditpipe.events import build_event
from auditpipe_cli.remote import create_key
from auditpipe_common.schema import AuditEvent, BatchResult, EventBatch, EventStatus
from auditpipe_common.streams import BATCH_FIELD, shard_for, stream_key
from auditpipe_ingest.app import PROTOBUF, create_app
from auditpipe_ingest.settings import IngestSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str) -> Iterator[TestClient]:
    settings = IngestSettings(
        redis_url=SecretStr(redis_url),
        stream_shards=2,
        max_batch_events=10,
        max_event_bytes=4096,
        max_batch_bytes=64 * 1024,
    )
    with TestClient(create_app(settings)) as c:
        c.headers["authorization"] = f"Bearer {create_key(redis_url, 'acme')}"
        yield c


def queued(redis_url: str, tenant: str = "acme") -> list[AuditEvent]:
    r = redis.Redis.from_url(redis_url)
    entries = r.xrange(stream_key("auditpipe", shard_for(tenant, 2)))
    r.close()
    return [ev for _, f in entries for ev in EventBatch.FromString(f[BATCH_FIELD]).events]


def event(n: int, **fields: Any) -> AuditEvent:
    ev = build_event("doc.read", actor={"id": f"u{n}"}, attributes={"n": n}, **fields)
    ev.seq = n
    return ev


def test_partly_valid_protobuf_batch_stores_the_valid_events(
    client: TestClient, redis_url: str
) -> None:
    good1, bad, good2 = event(1), event(2), event(3)
    bad.actor.id = ""
    body = EventBatch(events=[good1, bad, good2]).SerializeToString()
    r = client.post("/v1/events", content=body, headers={"content-type": PROTOBUF})
    assert r.status_code == 200
    result = BatchResult.FromString(r.content)
    assert (result.accepted, result.rejected) == (2, 1)
    assert result.results[1].status == EventStatus.EVENT_STATUS_REJECTED
    assert (result.results[1].code, result.results[1].field) == ("missing_field", "actor.id")
    stored = queued(redis_url)
    assert [e.idempotency_key for e in stored] == [good1.idempotency_key, good2.idempotency_key]
    assert not any(e.clock_skewed for e in stored)
    assert all(e.tenant == "acme" and e.received_at > 0 for e in stored)


def test_invalid_utf8_in_one_event_rejects_only_that_event(
    client: TestClient, redis_url: str
) -> None:
    good = event(1).SerializeToString()
    bad = bytearray(event(2).SerializeToString())
    i = bad.index(b"doc.read")
    bad[i] = 0xFF  # the action string is no longer UTF-8
    body = b"".join(b"\x0a" + bytes([len(f)]) + f for f in (good, bytes(bad)))
    r = client.post("/v1/events", content=body, headers={"content-type": PROTOBUF})
    result = BatchResult.FromString(r.content)
    assert [x.status for x in result.results] == [
        EventStatus.EVENT_STATUS_ACCEPTED,
        EventStatus.EVENT_STATUS_REJECTED,
    ]
    assert result.results[1].code == "malformed_event"
    assert len(queued(redis_url)) == 1


def test_json_batch_reports_each_event_and_keeps_big_integers(
    client: TestClient, redis_url: str
) -> None:
    events = [
        {
            "idempotency_key": "018bcfe5-6800-704c-9ced-9736a69da610",
            "seq": 1,
            "occurred_at": "2024-01-01T00:00:00Z",
            "action": "x",
            "actor": {"id": "u"},
            "attributes": {"big": 2**80},
        },
        {
            "idempotency_key": "018bcfe5-6800-704c-9ced-9736a69da611",
            "seq": 2,
            "occurred_at": "2024-01-01T00:00:00",
            "action": "x",
            "actor": {"id": "u"},
        },
        {
            "idempotency_key": "018bcfe5-6800-704c-9ced-9736a69da610",
            "seq": 1,
            "occurred_at": "2024-01-01T00:00:00Z",
            "action": "x",
            "actor": {"id": "u"},
        },
    ]
    r = client.post("/v1/events", json={"events": events})
    assert r.status_code == 200
    body = r.json()
    assert [x["status"] for x in body["results"]] == ["accepted", "rejected", "duplicate"]
    assert body["results"][1]["code"] == "timestamp_without_zone"
    (stored,) = queued(redis_url)
    assert json.loads(stored.attributes)["big"] == 2**80


def test_writing_another_tenant_is_rejected_per_event(client: TestClient, redis_url: str) -> None:
    ev = event(1, tenant="globex")
    r = client.post(
        "/v1/events",
        content=EventBatch(events=[ev]).SerializeToString(),
        headers={"content-type": PROTOBUF, "accept": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["results"][0]["code"] == "tenant_forbidden"
    assert queued(redis_url, "globex") == []


@pytest.mark.parametrize(
    ("body", "ctype", "status", "needle"),
    [
        (b"\xff\xff\xff", PROTOBUF, 400, "malformed protobuf"),
        (b"{not json", "application/json", 400, "invalid JSON"),
        (b"[]", "application/json", 400, "empty batch"),
        (b'{"events": 5}', "application/json", 400, "expected"),
        (b"a,b", "text/csv", 415, "unsupported content type"),
        (b"[" + b"{}," * 10 + b"{}]", "application/json", 413, "exceed the limit"),
        (b"x" * (65 * 1024), "application/json", 413, "exceeds the limit"),
    ],
)
def test_unreadable_batches_get_a_clear_4xx(
    client: TestClient, redis_url: str, body: bytes, ctype: str, status: int, needle: str
) -> None:
    r = client.post("/v1/events", content=body, headers={"content-type": ctype})
    assert r.status_code == status
    assert needle in r.json()["error"]
    assert queued(redis_url) == []


def test_requests_without_a_valid_key_are_refused(client: TestClient) -> None:
    body = EventBatch(events=[event(1)]).SerializeToString()
    for auth in ("", "Bearer ap_unknown", "Basic abc"):
        r = client.post(
            "/v1/events", content=body, headers={"content-type": PROTOBUF, "authorization": auth}
        )
        assert r.status_code == 401


def test_health_endpoints(client: TestClient) -> None:
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}


def test_skewed_client_clocks_are_flagged_and_kept(client: TestClient, redis_url: str) -> None:
    now = event(1).occurred_at
    behind, ahead, fine = event(1), event(2), event(3)
    behind.occurred_at = now - 3600 * 1_000_000  # an hour slow
    ahead.occurred_at = now + 20 * 60 * 1_000_000  # twenty minutes fast
    fine.occurred_at = now - 2 * 1_000_000
    body = EventBatch(events=[behind, ahead, fine]).SerializeToString()
    client.post("/v1/events", content=body, headers={"content-type": PROTOBUF})
    stored = {e.seq: e for e in queued(redis_url)}
    assert [stored[n].clock_skewed for n in (1, 2, 3)] == [True, True, False]
    assert stored[1].occurred_at == behind.occurred_at  # kept as sent, not corrected
    assert stored[2].occurred_at == ahead.occurred_at
