"""Refusing what Redis cannot keep (real redis-server): 429/503 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from auditpipe.events import uuid7
from auditpipe_cli.redisproc import start_replica, stop_redis
from auditpipe_cli.remote import create_key
from auditpipe_cli.stack import free_port
from auditpipe_common.streams import stream_key
from auditpipe_ingest.app import create_app
from auditpipe_ingest.settings import IngestSettings

pytestmark = pytest.mark.integration


def make_client(redis_url: str, **overrides: object) -> TestClient:
    settings = IngestSettings(
        redis_url=SecretStr(redis_url),
        stream_shards=2,
        backpressure_interval_s=0,
        **overrides,  # type: ignore[arg-type]
    )
    client = TestClient(create_app(settings))
    client.headers["authorization"] = f"Bearer {create_key(redis_url, 'acme')}"
    return client


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(redis_url)
    yield r
    r.config_set("maxmemory", "0")
    r.close()


def backlog(r: redis.Redis) -> int:
    return sum(int(r.xlen(stream_key("auditpipe", s))) for s in range(2))


def payload(n: int = 3) -> dict[str, object]:
    events = [
        {
            "idempotency_key": uuid7(),
            "seq": i,
            "occurred_at": "2026-01-01T00:00:00Z",
            "action": "doc.read",
            "actor": {"id": "u"},
        }
        for i in range(1, n + 1)
    ]
    return {"events": events}


def post(client: TestClient) -> int:
    return client.post("/v1/events", json=payload()).status_code


def test_redis_near_its_memory_limit_gets_429_until_memory_frees(
    redis_url: str, raw: redis.Redis
) -> None:
    with make_client(redis_url, max_redis_memory_ratio=0.5) as client:
        used = int(raw.info("memory")["used_memory"])
        raw.config_set("maxmemory", str(used + used // 2))  # used is 2/3 of the limit
        reply = client.post("/v1/events", json=payload())
        assert reply.status_code == 429
        assert reply.headers["retry-after"] == "2"
        assert "memory" in reply.json()["error"]
        assert backlog(raw) == 0
        raw.config_set("maxmemory", "0")
        assert post(client) == 200
        assert backlog(raw) == 1


def test_a_backlog_workers_cannot_drain_gets_429_until_it_shrinks(
    redis_url: str, raw: redis.Redis
) -> None:
    with make_client(redis_url, max_backlog_batches=2) as client:
        assert [post(client) for _ in range(4)] == [200, 200, 200, 429]
        assert backlog(raw) == 3
        for s in range(2):
            raw.delete(stream_key("auditpipe", s))
        assert post(client) == 200


def test_a_stalled_redis_gets_503_with_retry_after(redis_url: str, raw: redis.Redis) -> None:
    with make_client(redis_url, publish_timeout_s=0.3) as client:
        raw.client_pause(3000, all=False)  # writes wait, reads (the sampling) still answer
        try:
            reply = client.post("/v1/events", json=payload())
        finally:
            raw.client_unpause()
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"
        assert post(client) == 200


def test_a_batch_no_replica_holds_is_not_acknowledged(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    """With min_replica_acks=1: 503 without a replica, 200 once a real replica follows."""
    with make_client(redis_url, min_replica_acks=1, replica_ack_timeout_ms=200) as client:
        reply = client.post("/v1/events", json=payload())
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"
        primary_port = raw.connection_pool.connection_kwargs["port"]
        replica, follower = start_replica(tmp_path / "replica", free_port(), primary_port)
        try:
            assert post(client) == 200
            # What was acknowledged is on the replica: 2 batches, the refused one included
            # (a refused batch may still be queued; its retry is dropped by idempotency key).
            assert sum(int(follower.xlen(stream_key("auditpipe", s))) for s in range(2)) == 2
        finally:
            follower.replicaof("NO", "ONE")
            follower.close()
            stop_redis(replica)
