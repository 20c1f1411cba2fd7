"""Worker recovery against a real redis-server and chDB.

A dead consumer's pending entries are all reclaimed; a failed insert is never
acknowledged, and a store back after an outage longer than the shard lease
is drained by the same worker; one row the store refuses does not take its
batch with it; an entry that keeps failing goes to the dead-letter stream
with its reason after a bounded number of attempts, and the entries behind
it are stored.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from auditpipe_common.errors import PermanentError
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import EventColumns, EventFilter, Store
from auditpipe_common.store.rows import COLUMNS
from auditpipe_common.streams import GROUP, deadletter_key, ensure_group, shard_for, stream_key
from auditpipe_worker.consumer import Worker
from auditpipe_worker.sink import TOMBSTONE
from services.worker.tests.helpers import SHARDS, count, events, publish, run_until, settings

pytestmark = pytest.mark.integration
STREAM = stream_key("auditpipe", shard_for("acme", SHARDS))


class Refusing:
    """The store, but every insert holding the event ``key`` fails with ``error``.

    A tombstone that takes the refused event's log position is let through.
    """

    def __init__(self, store: Store, key: str, error: Exception) -> None:
        self._store, self._key, self._error = store, key, error
        self.refused = 0

    def insert(self, rows: EventColumns) -> None:
        actions = dict(zip(rows.keys, rows.columns[COLUMNS.index("action")], strict=True))
        if actions.get(("acme", self._key), TOMBSTONE) != TOMBSTONE:
            self.refused += 1
            raise self._error
        self._store.insert(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def dead_letters(redis: Redis) -> list[dict[bytes, bytes]]:
    return [fields for _, fields in await redis.xrange(deadletter_key("auditpipe"))]


def stored(store: Store) -> dict[str, AuditEvent]:
    return {ev.idempotency_key: ev for ev in store.scan(EventFilter(tenant="acme"))}


async def test_every_pending_entry_of_a_dead_consumer_is_reclaimed(
    redis: Redis, redis_url: str, store: Store
) -> None:
    """250 pending entries (more than a claim or a read takes at once), 3 trimmed meanwhile."""
    await ensure_group(redis, STREAM)
    ids = [await publish(redis, events("acme", 2, start=1 + 2 * i)) for i in range(250)]
    await redis.xreadgroup(GROUP, "dead", {STREAM: ">"}, count=1000)
    trimmed = [ids[7], ids[120], ids[249]]
    await redis.xdel(STREAM, *trimmed)
    worker = Worker(settings(redis_url, store, "heir"), redis, store)
    await run_until(worker, lambda: worker.totals.stored >= 2 * 247)
    stats = count(store, "acme")
    assert (stats["count"], stats["distinct_keys"]) == (2 * 247, 2 * 247)
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 0
    assert await redis.xlen(STREAM) == 0


async def test_a_failed_insert_is_never_acked_and_a_long_outage_drains_without_restart(
    redis: Redis, redis_url: str, store: Store
) -> None:
    """The store fails for four shard-lease lifetimes; the same worker then stores everything.

    Each lifetime the worker abandons its batch and takes it up again: that uses
    up no attempt (there are only two), so nothing goes to the dead-letter stream.
    """
    for i in range(20):
        await publish(redis, events("acme", 5, start=1 + 5 * i))
    began = time.monotonic()
    outage = 4.0
    worker = Worker(
        settings(
            redis_url, store, "w", fault_store_unavailable_s=outage, lease_ms=1000, max_attempts=2
        ),
        redis,
        store,
    )
    task = asyncio.create_task(worker.run())
    try:
        samples = 0
        while time.monotonic() - began < outage:  # the fault is certainly still on
            assert await redis.xlen(STREAM) == 20, "an entry was acknowledged, not stored"
            assert count(store, "acme")["count"] == 0
            samples += 1
            await asyncio.sleep(0.2)
        assert samples > 5
        deadline = time.monotonic() + 60
        while count(store, "acme")["count"] < 100 or await redis.xlen(STREAM):
            assert time.monotonic() < deadline, "the worker did not drain after the outage"
            assert not task.done(), task.exception()
            await asyncio.sleep(0.1)
    finally:
        worker.stop()
        await task
    assert count(store, "acme") == {
        "count": 100,
        "distinct_keys": 100,
        "min_seq": 1,
        "max_seq": 100,
    }
    assert await dead_letters(redis) == []


async def test_one_row_the_store_refuses_does_not_discard_its_batch(
    redis: Redis, redis_url: str, store: Store
) -> None:
    batch = events("acme", 20)
    bad = batch[7].idempotency_key
    refusing = Refusing(store, bad, PermanentError("Code: 53. Type mismatch (injected)"))
    await publish(redis, batch)
    worker = Worker(settings(redis_url, store, "w"), redis, refusing)  # type: ignore[arg-type]
    await run_until(worker, lambda: worker.totals.stored + worker.totals.dead >= 20)
    rows = stored(store)
    assert set(rows) == {ev.idempotency_key for ev in batch}
    assert rows[bad].action == TOMBSTONE  # its log position holds a tombstone, not the event
    assert all(rows[ev.idempotency_key] == ev for ev in batch if ev.idempotency_key != bad)
    (dead,) = await dead_letters(redis)
    assert b"Type mismatch" in dead[b"reason"]
    assert AuditEvent.FromString(dead[b"payload"]).idempotency_key == bad


async def test_an_entry_that_keeps_failing_is_dead_lettered_after_bounded_attempts(
    redis: Redis, redis_url: str, store: Store
) -> None:
    """An insert that raises what no retry covers; the count survives a restart of the worker."""
    poison = events("acme", 3, start=1)
    behind = [events("acme", 3, start=4 + 3 * i) for i in range(5)]
    await publish(redis, poison)
    for batch in behind:
        await publish(redis, batch)
    refusing = Refusing(store, poison[1].idempotency_key, RuntimeError("driver bug"))
    first = Worker(settings(redis_url, store, "w", max_attempts=3), redis, refusing)  # type: ignore[arg-type]
    await run_until(first, lambda: refusing.refused >= 2)
    assert await dead_letters(redis) == []  # not given up on yet
    restarted = Worker(settings(redis_url, store, "w", max_attempts=3), redis, refusing)  # type: ignore[arg-type]
    await run_until(restarted, lambda: count(store, "acme")["count"] >= 15)
    assert refusing.refused == 1 + 3  # once in its first batch, then three times on its own
    (dead,) = await dead_letters(redis)
    assert b"after 3 attempts" in dead[b"reason"]
    assert b"RuntimeError: driver bug" in dead[b"reason"]
    assert set(stored(store)) == {ev.idempotency_key for batch in behind for ev in batch}
    assert (await redis.xpending(STREAM, GROUP))["pending"] == 0
