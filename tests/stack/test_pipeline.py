"""SDK → sequencer → ingest → Redis Streams → worker → chDB → query, as separate processes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx
import pytest

from auditpipe import AsyncAuditClient, AuditClient, ClientConfig
from auditpipe_cli.remote import QueryClient, create_key
from auditpipe_cli.stack import LocalStack
from auditpipe_common.schema import EventBatch
from tests.stack.conftest import exported, wait_count

pytestmark = pytest.mark.stack


def test_seq_order_equals_log_order_within_one_client(
    make_client: Callable[..., AuditClient], key_and_query: tuple[str, QueryClient]
) -> None:
    key, query = key_and_query
    client = make_client(key, batch_size=97)
    logged = [
        client.log("doc.read", actor={"id": f"u{i % 5}"}, attributes={"i": i}) for i in range(1500)
    ]
    assert client.flush(60)
    assert client.stats.acknowledged == 1500
    assert wait_count(query, 1500) == 1500
    rows = exported(query)
    assert [r["idempotency_key"] for r in rows] == logged  # export is in seq order
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(set(seqs))


def test_interleaved_clients_get_unique_increasing_numbers(
    make_client: Callable[..., AuditClient], key_and_query: tuple[str, QueryClient]
) -> None:
    key, query = key_and_query
    clients = [make_client(key, batch_size=10, flush_interval=0.01) for _ in range(3)]
    logged: dict[int, list[str]] = {i: [] for i in range(3)}

    def work(i: int) -> None:
        for n in range(400):
            logged[i].append(clients[i].log("x", actor={"id": f"c{i}"}, attributes={"n": n}))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        assert c.flush(60)
    assert wait_count(query, 1200) == 1200
    rows = exported(query)
    seqs = [r["seq"] for r in rows]
    assert len(set(seqs)) == 1200
    seq_of = {r["idempotency_key"]: r["seq"] for r in rows}
    for i in range(3):
        mine = [seq_of[k] for k in logged[i]]
        assert mine == sorted(mine), f"client {i} numbers are not increasing in log() order"


def test_async_client_delivers_and_flushes_on_close(
    stack: LocalStack, key_and_query: tuple[str, QueryClient]
) -> None:
    key, query = key_and_query

    async def go() -> int:
        cfg = ClientConfig(
            api_key=key,
            ingest_url=stack.config.url("ingest"),
            sequencer_url=stack.config.url("sequencer"),
            batch_size=50,
        )
        async with AsyncAuditClient(cfg) as client:
            for i in range(230):
                await client.log("async.event", actor="svc", attributes={"i": i})
        return client.stats.acknowledged

    assert asyncio.run(go()) == 230
    assert wait_count(query, 230) == 230


def test_a_key_for_one_tenant_cannot_write_or_read_another(
    stack: LocalStack, make_client: Callable[..., AuditClient], tenant: str
) -> None:
    key_a = create_key(stack.config.redis_url, tenant)
    key_b = create_key(stack.config.redis_url, tenant + "-b")
    victim = make_client(key_b)
    victim.log("secret", actor="b-user")
    assert victim.flush(30)
    with (
        QueryClient(stack.config.url("query"), key_a) as query_a,
        QueryClient(stack.config.url("query"), key_b) as query_b,
    ):
        assert wait_count(query_b, 1) == 1
        attacker = make_client(key_a)
        ev_key = attacker.log("forged", actor="a-user", tenant=tenant + "-b")
        assert attacker.flush(30)
        assert attacker.stats.rejected == 1
        assert exported(query_a) == []
        assert [r["action"] for r in exported(query_b)] == ["secret"]
        assert ev_key not in {r["idempotency_key"] for r in exported(query_b)}


def test_the_same_batch_sent_twice_is_stored_once(
    stack: LocalStack, key_and_query: tuple[str, QueryClient]
) -> None:
    key, query = key_and_query
    from auditpipe.events import build_event

    events = [build_event("dup.test", actor="u") for _ in range(20)]
    for i, ev in enumerate(events):
        ev.seq = i + 1
    body = EventBatch(events=events).SerializeToString()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/x-protobuf"}
    for _ in range(2):
        r = httpx.post(f"{stack.config.url('ingest')}/v1/events", content=body, headers=headers)
        assert r.status_code == 200
    assert wait_count(query, 20) == 20
    # give a second copy time to arrive if it were going to
    httpx.post(f"{stack.config.url('ingest')}/v1/events", content=body, headers=headers)
    with AuditClient(
        ClientConfig(
            api_key=key,
            ingest_url=stack.config.url("ingest"),
            sequencer_url=stack.config.url("sequencer"),
        )
    ) as marker:
        marker.log("marker", actor="u")
    assert wait_count(query, 21) == 21
    assert query.stats() == {
        "count": 21,
        "distinct_keys": 21,
        "min_seq": 1,
        "max_seq": query.stats()["max_seq"],
    }
