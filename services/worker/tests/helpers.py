"""Helpers shared by the worker tests (real redis-server and chDB)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from redis.asyncio import Redis

from auditpipe_common.schema import AuditEvent, EventBatch
from auditpipe_common.store import EventFilter, Store
from auditpipe_common.streams import BATCH_FIELD, shard_for, stream_key
from auditpipe_common.timeutil import now_us
from auditpipe_worker.consumer import Worker
from auditpipe_worker.settings import WorkerSettings

SHARDS = 2


def events(tenant: str, n: int, start: int = 1) -> list[AuditEvent]:
    """``n`` valid events of ``tenant`` with seq from ``start``."""
    out = []
    for i in range(start, start + n):
        ev = AuditEvent(
            tenant=tenant,
            seq=i,
            idempotency_key=str(uuid.uuid4()),
            occurred_at=now_us(),
            received_at=now_us(),
            action="read",
        )
        ev.actor.id = "u"
        out.append(ev)
    return out


async def publish(redis: Redis, batch: list[AuditEvent]) -> str:
    """Queue ``batch`` as one stream entry, as ingest does; returns its id."""
    stream = stream_key("auditpipe", shard_for(batch[0].tenant, SHARDS))
    payload = EventBatch(events=batch).SerializeToString()
    entry_id: bytes = await redis.xadd(stream, {BATCH_FIELD: payload})
    return entry_id.decode()


def settings(redis_url: str, store: Store, consumer: str, **overrides: Any) -> WorkerSettings:
    """Worker settings for the tests: two shards, short waits and leases."""
    values: dict[str, Any] = {
        "redis_url": SecretStr(redis_url),
        "store_database": store.database,
        "stream_shards": SHARDS,
        "consumer": consumer,
        "batch_wait_ms": 20,
        "lease_ms": 1000,
        "retry_max_ms": 50,
    }
    return WorkerSettings(**(values | overrides))


async def run_until(worker: Worker, done: Callable[[], bool], limit_s: float = 30) -> None:
    """Run ``worker`` until ``done()``, then stop it."""
    task = asyncio.create_task(worker.run())
    deadline = time.monotonic() + limit_s
    try:
        while not done():
            assert time.monotonic() < deadline, "worker did not finish in time"
            assert not task.done(), task.exception()
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await task


def count(store: Store, tenant: str) -> dict[str, int]:
    """Rows, distinct keys and seq range of ``tenant``."""
    return store.stats(EventFilter(tenant=tenant))
