"""Writes accepted events to Redis Streams: one packed entry per batch and shard."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auditpipe_common.errors import TransientError
from auditpipe_common.schema import AuditEvent, EventBatch
from auditpipe_common.streams import BATCH_FIELD, shard_for, stream_key


class Publisher:
    """Queues validated events; returns only after Redis accepted every entry.

    With ``min_replica_acks`` > 0 it also waits (``WAIT``, in the same round
    trip) until that many replicas hold the entries, so a failover to a replica
    cannot lose an acknowledged batch; fewer acknowledgements within
    ``replica_ack_timeout_ms`` is a TransientError (the client retries, and the
    worker drops the copy the retry adds).
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        shards: int,
        min_replica_acks: int = 0,
        replica_ack_timeout_ms: int = 1000,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._shards = shards
        self._min_replica_acks = min_replica_acks
        self._replica_ack_timeout_ms = replica_ack_timeout_ms

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
                if self._min_replica_acks:
                    pipe.wait(self._min_replica_acks, self._replica_ack_timeout_ms)
                replies = await pipe.execute()
        except RedisError as exc:
            raise TransientError(f"redis rejected the batch: {exc}") from exc
        if self._min_replica_acks and int(replies[-1]) < self._min_replica_acks:
            raise TransientError(
                f"batch reached {replies[-1]} of {self._min_replica_acks} required replicas"
            )
