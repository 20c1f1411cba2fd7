"""The ceilings: raw Redis XADD of the same bytes, raw chDB insert of the same rows,
raw single-call INCR."""

from __future__ import annotations

import time

import redis

from auditpipe_common.schema import EventBatch
from auditpipe_common.store import EventColumns, Store


def redis_xadd(redis_url: str, batches: list[EventBatch]) -> float:
    """Events/s when the packed batches are XADDed, pipelined, as ingest does."""
    client = redis.Redis.from_url(redis_url)
    payloads = [b.SerializeToString() for b in batches]
    events = sum(len(b.events) for b in batches)
    client.delete("bench:ceiling")
    start = time.perf_counter()
    for i in range(0, len(payloads), 8):
        pipe = client.pipeline(transaction=False)
        for p in payloads[i : i + 8]:
            pipe.xadd("bench:ceiling", {b"b": p})
        pipe.execute()
    elapsed = time.perf_counter() - start
    client.delete("bench:ceiling")
    client.close()
    return events / elapsed


def incr_single(redis_url: str, calls: int = 5000) -> float:
    """Sequence numbers/s with one INCR round trip per number."""
    client = redis.Redis.from_url(redis_url)
    start = time.perf_counter()
    for _ in range(calls):
        client.incr("bench:incr")
    elapsed = time.perf_counter() - start
    client.close()
    return calls / elapsed


def chdb_insert(store: Store, batches: list[EventBatch], rows_per_insert: int) -> float:
    """Rows/s of inserting the same rows straight into the events table."""
    columns = EventColumns()
    for b in batches:
        columns.extend(b.events, retention_days=30)
    events = len(columns)
    start = time.perf_counter()
    for lo in range(0, events, rows_per_insert):
        part = EventColumns()
        part.columns = [c[lo : lo + rows_per_insert] for c in columns.columns]
        part.keys = columns.keys[lo : lo + rows_per_insert]
        store.insert(part)
    return events / (time.perf_counter() - start)
