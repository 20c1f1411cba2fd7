"""The worker against a real redis-server and chDB: exactly once, reclaim, dead letters."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from auditpipe_common.store import Store
from auditpipe_common.streams import BATCH_FIELD, GROUP, ensure_group, shard_for, stream_key
from auditpipe_worker.batch import Entry
from auditpipe_worker.consumer import Worker
from services.worker.tests.helpers import SHARDS, count, events, publish, run_until, settings

pytestmark = pytest.mark.integration


async def test_the_same_batch_queued_twice_is_stored_once(
    redis: Redis, redis_url: str, store: Store
) -> None:
    batch = events("acme", 100)
    await publish(redis, batch)
    await publish(redis, batch)  # an SDK retry after a lost answer
    await publish(redis, events("acme", 10, start=101))
    worker = Worker(settings(redis_url, store, "w1"), redis, store)
    await run_until(worker, lambda: worker.totals.stored + worker.totals.duplicates >= 210)
    assert count(store, "acme") == {
        "count": 110,
        "distinct_keys": 110,
        "min_seq": 1,
        "max_seq": 110,
    }
    assert worker.totals.duplicates == 100


async def test_entries_of_a_dead_consumer_are_reclaimed_and_stored_once(
    redis: Redis, redis_url: str, store: Store
) -> None:
    batch = events("acme", 50)
    stream = stream_key("auditpipe", shard_for("acme", SHARDS))
    await ensure_group(redis, stream)
    await publish(redis, batch)
    await publish(redis, events("acme", 5, start=51))
    # "dead" leases the shard, reads both entries, stores the first one's events and dies
    # before acking; its lease runs out.
    lease = f"auditpipe:lease:{shard_for('acme', SHARDS)}"
    await redis.set(lease, "dead", px=5000)
    reply = await redis.xreadgroup(GROUP, "dead", {stream: ">"}, count=10)
    first_id = reply[0][1][0][0].decode()
    dead = Worker(settings(redis_url, store, "dead"), redis, store)
    await dead._sink.write([Entry(stream, first_id, b"", batch)], _always)
    assert count(store, "acme")["count"] == 50
    await redis.set(lease, "dead", px=300)

    worker = Worker(settings(redis_url, store, "w2"), redis, store)
    await run_until(worker, lambda: worker.totals.stored + worker.totals.duplicates >= 55)
    assert count(store, "acme") == {"count": 55, "distinct_keys": 55, "min_seq": 1, "max_seq": 55}
    assert await redis.xpending(stream, GROUP) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }


async def test_poison_entries_go_to_the_dead_letter_stream_without_blocking(
    redis: Redis, redis_url: str, store: Store
) -> None:
    stream = stream_key("auditpipe", shard_for("acme", SHARDS))
    await redis.xadd(stream, {BATCH_FIELD: b"\xff\x00garbage"})
    await redis.xadd(stream, {b"other": b"no batch field"})
    await publish(redis, events("acme", 20))
    worker = Worker(settings(redis_url, store, "w3"), redis, store)
    await run_until(worker, lambda: worker.totals.stored >= 20)
    dead = await redis.xrange("auditpipe:deadletter")
    reasons = sorted(fields[b"reason"].decode() for _, fields in dead)
    assert len(reasons) == 2
    assert reasons[0] == "entry has no batch field"
    assert reasons[1].startswith("undecodable batch")
    assert count(store, "acme")["count"] == 20


async def test_only_one_worker_owns_a_shard(redis: Redis, redis_url: str, store: Store) -> None:
    w1 = Worker(settings(redis_url, store, "a"), redis, store)
    w2 = Worker(settings(redis_url, store, "b"), redis, store)
    for _ in range(2):  # the first worker gives back what exceeds its share once it sees the second
        await w1._leases.refresh()
        await w2._leases.refresh()
    assert w1._leases.owned
    assert w2._leases.owned
    assert not (w1._leases.owned & w2._leases.owned)
    assert w1._leases.owned | w2._leases.owned == set(range(SHARDS))
    await w1._leases.release_all()
    await w2._leases.release_all()


async def _always() -> bool:
    return True


@pytest.mark.parametrize("owner", ["dead", "w4"])
async def test_entries_trimmed_while_pending_are_settled_not_looped_on(
    redis: Redis, redis_url: str, store: Store, owner: str
) -> None:
    """A pending entry whose payload was trimmed is acknowledged once; its neighbours are stored.

    ``dead`` is another consumer (the entries are reclaimed with XAUTOCLAIM);
    ``w4`` is the worker's own name (a restart re-reads its own pending entries).
    """
    stream = stream_key("auditpipe", shard_for("acme", SHARDS))
    await ensure_group(redis, stream)
    await publish(redis, events("acme", 10))
    trimmed = await publish(redis, events("acme", 10, start=11))
    await publish(redis, events("acme", 10, start=21))
    await redis.xreadgroup(GROUP, owner, {stream: ">"}, count=10)
    await redis.xdel(stream, trimmed)
    worker = Worker(settings(redis_url, store, "w4"), redis, store)
    await run_until(worker, lambda: worker.totals.stored >= 20)
    stats = count(store, "acme")
    assert (stats["count"], stats["distinct_keys"]) == (20, 20)
    assert (await redis.xpending(stream, GROUP))["pending"] == 0
    dead = await redis.xrange("auditpipe:deadletter")
    assert len(dead) <= 1  # the own-pending path records the trimmed id once
    # Run on for a second: a looping worker would dead-letter the trimmed id again.
    again = Worker(settings(redis_url, store, "w4"), redis, store)
    until = time.monotonic() + 1
    await run_until(again, lambda: time.monotonic() > until)
    assert await redis.xrange("auditpipe:deadletter") == dead
    assert count(store, "acme")["count"] == 20
