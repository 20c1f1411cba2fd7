"""Refuse work Redis cannot keep: memory near its limit, or a backlog workers cannot drain.

Ingest samples Redis at most every ``interval`` seconds (one pipelined
``INFO memory`` + ``XLEN`` per shard) and, while either measure is above its
high-water mark, answers 429 with ``Retry-After`` instead of queueing. The SDK
retries the same batch after that pause, so nothing is lost; the client's own
buffer (bounded, with its overflow policy) absorbs the wait.

A Redis that stalls is covered by ``publish_timeout``: the request answers 503
instead of holding the connection open; the retry may queue a second copy of
the batch, which the worker drops by idempotency key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auditpipe_common.logging import get_logger
from auditpipe_common.streams import stream_key

log = get_logger(__name__)


@dataclass(frozen=True)
class Pressure:
    """Why ingest refuses work right now (``None`` reason: it does not)."""

    reason: str | None
    retry_after_s: int = 1


class Backpressure:
    """Samples Redis memory and stream backlog; says when to refuse."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        shards: int,
        *,
        max_memory_ratio: float,
        max_backlog: int,
        interval: float = 0.25,
    ) -> None:
        self._redis = redis
        self._streams = [stream_key(prefix, s) for s in range(shards)]
        self._max_memory_ratio = max_memory_ratio
        self._max_backlog = max_backlog
        self._interval = interval
        self._checked = float("-inf")
        self._state = Pressure(None)

    async def check(self) -> Pressure:
        """The current verdict, refreshed if older than the sampling interval."""
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            self._state = await self._sample()
        return self._state

    async def _sample(self) -> Pressure:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.info("memory")
                for stream in self._streams:
                    pipe.xlen(stream)
                memory, *lengths = await pipe.execute()
        except RedisError:
            # Publishing will fail with a 503 of its own; do not guess here.
            return Pressure(None)
        used, limit = int(memory["used_memory"]), int(memory.get("maxmemory") or 0)
        backlog = sum(int(n) for n in lengths)
        if limit and used >= self._max_memory_ratio * limit:
            reason = f"event queue memory at {used / limit:.0%} of its limit"
            log.warning("backpressure", reason=reason)
            return Pressure(reason, retry_after_s=2)
        if backlog > self._max_backlog:
            reason = f"event queue backlog of {backlog} batches over {self._max_backlog}"
            log.warning("backpressure", reason=reason)
            return Pressure(reason, retry_after_s=1)
        return Pressure(None)
