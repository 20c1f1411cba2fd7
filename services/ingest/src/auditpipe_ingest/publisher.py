"""Writes accepted events to Redis Streams: one packed entry per batch and shard."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auditpipe_common.errors import TransientError
from auditpipe_common.schema import AuditEvent, EventBatch
from auditpipe_common.streams import BATCH_FIELD, shard_for, stream_key


class Publisher:
    """Queues validated events; returns only after Redis accepted every entry."""

    def __init__(self, redis: Redis, prefix: str, shards: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._shards = shards

    async def publish(self, events: Sequence[AuditEvent]) -> None:
        """XADD the events, grouped by shard, in one pipelined round trip."""
        by_shard: dict[int, EventBatch] = {}
        for ev in events:
            by_shard.setdefault(shard_for(ev.tenant, self._shards), EventBatch()).events.append(ev)
        if not by_shard:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard, batch in by_shard.items():
                    fields: dict[str | bytes, bytes] = {BATCH_FIELD: batch.SerializeToString()}
                    pipe.xadd(stream_key(self._prefix, shard), fields)  # type: ignore[arg-type]
                await pipe.execute()
        except RedisError as exc:
            raise TransientError(f"redis rejected the batch: {exc}") from exc
