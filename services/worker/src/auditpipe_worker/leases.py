"""Exclusive ownership of stream shards.

Exactly one worker consumes a shard at a time, so duplicate checks against
the store and the per-tenant order cannot race with another worker. A lease
is a Redis key ``{prefix}:lease:{shard}`` holding the owner's name with a
TTL; the owner renews it well before it expires. A worker takes at most its
fair share (shards / live workers, rounded up), so shards spread out as
workers join, and the shards of a worker that died are taken over once its
leases expire. Live workers announce themselves with heartbeat keys.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

# Acquire if free, renew if ours. Returns 1 when the caller holds the lease.
_TAKE = """
local cur = redis.call('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def lease_key(prefix: str, shard: int) -> str:
    """The Redis key of a shard's lease."""
    return f"{prefix}:lease:{shard}"


class ShardLeases:
    """Acquires, renews and releases this worker's shard leases."""

    def __init__(self, redis: Redis, prefix: str, owner: str, shards: int, ttl_ms: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self.owner = owner
        self._shards = shards
        self._ttl_ms = ttl_ms
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)
        self.owned: set[int] = set()

    def _key(self, shard: int) -> str:
        return lease_key(self._prefix, shard)

    async def _live_workers(self) -> int:
        await self._redis.set(f"{self._prefix}:worker:{self.owner}", 1, px=self._ttl_ms)
        count = 0
        async for _ in self._redis.scan_iter(match=f"{self._prefix}:worker:*", count=1000):
            count += 1
        return max(count, 1)

    async def refresh(self) -> set[int]:
        """Renew owned leases and take free ones up to the fair share.

        Shards above the fair share are given back (called between batches, so
        nothing of theirs is in flight). Returns the shards newly acquired:
        their pending entries need claiming.
        """
        share = math.ceil(self._shards / await self._live_workers())
        lost = set()
        for shard in sorted(self.owned):
            if not await self._take(keys=[self._key(shard)], args=[self.owner, self._ttl_ms]):
                lost.add(shard)
        self.owned -= lost
        for shard in sorted(self.owned, reverse=True)[: max(len(self.owned) - share, 0)]:
            await self._release(keys=[self._key(shard)], args=[self.owner])
            self.owned.discard(shard)
        gained: set[int] = set()
        for shard in range(self._shards):
            if len(self.owned) >= share:
                break
            if shard in self.owned:
                continue
            if await self._take(keys=[self._key(shard)], args=[self.owner, self._ttl_ms]):
                self.owned.add(shard)
                gained.add(shard)
        return gained

    async def holds(self, shard: int) -> bool:
        """True if this worker still holds ``shard`` (checked just before inserting)."""
        value = await self._redis.get(self._key(shard))
        if isinstance(value, bytes):
            value = value.decode()
        return value == self.owner

    async def release_all(self) -> None:
        """Give every lease back (clean shutdown), so others need not wait for expiry."""
        for shard in self.owned:
            await self._release(keys=[self._key(shard)], args=[self.owner])
        self.owned.clear()
        await self._redis.delete(f"{self._prefix}:worker:{self.owner}")
