"""Bounded attempts: an entry that keeps failing is set aside, not retried forever.

After a batch fails in a way the store's own retry does not cover (an
exception no retry fixes, or a worker that died in the middle: its entries
come back pending), the worker takes its pending entries one at a time.
Each such attempt is counted in Redis *before* it starts, so an attempt
that kills the process counts too, and a restarted or another worker goes
on counting; the error of the last failed attempt is kept beside the count.
An entry already tried ``limit`` times goes to the dead-letter stream with
that error instead of being tried again, so it never blocks the entries
behind it. Acknowledging an entry drops its record.

A store that is down does not use up attempts: the sink retries it in
place, for as long as the worker holds the shard, and an attempt abandoned
because the shard's lease ran out meanwhile is given back.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from auditpipe_worker.batch import Entry


class Attempts:
    """Per-entry attempt counts and last errors, in one Redis hash."""

    def __init__(self, redis: Redis, prefix: str, limit: int) -> None:
        self._redis = redis
        self._key = f"{prefix}:attempts"
        self.limit = limit
        self._counted: set[str] = set()  # attempts of this process not yet settled

    @staticmethod
    def _field(entry: Entry) -> str:
        return f"{entry.stream}/{entry.entry_id}"

    async def start(self, entry: Entry) -> None:
        """Count an attempt at ``entry``; past the limit, mark it for the dead-letter stream."""
        field = self._field(entry)
        tried = int(await self._redis.hincrby(self._key, field, 1)) - 1
        self._counted.add(field)
        if tried < self.limit:
            return
        last = await self._redis.hget(self._key, f"{field}:error")
        why = last.decode() if isinstance(last, bytes) else "the worker died while storing it"
        entry.error = f"gave up after {tried} attempts: {why}"
        entry.events = []

    async def failed(self, entries: Iterable[Entry], exc: BaseException) -> None:
        """Remember why an attempt at ``entries`` failed."""
        why = f"{type(exc).__name__}: {exc}"[:1000]
        mapping = {f"{self._field(e)}:error": why for e in entries}
        if mapping:
            await self._redis.hset(self._key, mapping=mapping)  # type: ignore[arg-type]

    async def abandoned(self, entries: Iterable[Entry]) -> None:
        """Give back the attempts at ``entries``: they were left, not failed (lease lost)."""
        fields = [f for f in map(self._field, entries) if f in self._counted]
        async with self._redis.pipeline(transaction=False) as pipe:
            for field in fields:
                pipe.hincrby(self._key, field, -1)
            await pipe.execute()
        self._counted.difference_update(fields)

    def forget(self, pipe: Pipeline, entries: Iterable[Entry]) -> None:
        """Queue, on ``pipe``, dropping the records of acknowledged entries."""
        fields = [self._field(e) for e in entries]
        self._counted.difference_update(fields)
        if fields:
            pipe.hdel(self._key, *fields, *(f"{f}:error" for f in fields))
