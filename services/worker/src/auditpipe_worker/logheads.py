"""The heads of the tenants' logs in Redis, moved only by the holder of the shard lease.

A head is a log's tree state (:class:`CompactRange`: size and frontier),
stored under ``{prefix}:tlog:head:{tenant}``. Every move is one Lua call that
first checks that the caller still holds the lease of every shard involved
(the fence: a worker whose lease expired can never move a head again) and
that each head is exactly what the caller expects (so a head Redis lost,
after a restart from an older AOF or a failover, is noticed, never built on).

Beside the heads, each shard may hold one *intent*
(``{prefix}:tlog:intent:{shard}``): what a batch committed to — which stream
entries and, per tenant, the first position, the count, a digest of the keys
and the head before. It is written atomically with the heads it moves and
cleared once the batch is stored; the next owner of the shard replays it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from auditpipe_common.tlog import CompactRange
from auditpipe_worker.leases import lease_key

# KEYS: the shards' lease keys, their intent keys, the tenants' head keys.
# ARGV: owner, mode, #shards, #tenants, then per shard the intent, per tenant the
# expected head and the new head. Modes: "commit" (no intent may be pending; record
# them), "amend" (the pending intents must be exactly ARGV's), "set" (no intent may
# be pending; record none). Returns 1, or -1 lease lost, -2 intent mismatch, -3 head moved.
_MOVE = """
local owner, mode = ARGV[1], ARGV[2]
local ns, nt = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 1, ns do
  if redis.call('GET', KEYS[i]) ~= owner then return -1 end
  local pending = redis.call('GET', KEYS[ns + i])
  if mode == 'amend' then
    if pending ~= ARGV[4 + i] then return -2 end
  elseif pending then
    return -2
  end
end
for j = 1, nt do
  if (redis.call('GET', KEYS[2 * ns + j]) or '') ~= ARGV[4 + ns + j] then return -3 end
end
if mode == 'commit' then
  for i = 1, ns do redis.call('SET', KEYS[ns + i], ARGV[4 + i]) end
end
for j = 1, nt do redis.call('SET', KEYS[2 * ns + j], ARGV[4 + ns + nt + j]) end
return 1
"""
_CLEAR = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class HeadsMoved(Exception):
    """Redis does not hold the heads (or intents) the caller expected."""


class LeaseLost(Exception):
    """The caller no longer holds a shard lease: it must not write that shard's logs."""


def keys_digest(keys: Sequence[str]) -> str:
    """A digest of an ordered list of idempotency keys."""
    h = hashlib.sha256()
    for key in keys:
        h.update(key.encode())
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class TenantIntent:
    """What one batch committed to for one tenant."""

    start: int
    count: int
    digest: str
    old_head: bytes


@dataclass
class Intent:
    """What one batch committed to in one shard."""

    entries: list[str]
    tenants: dict[str, TenantIntent] = field(default_factory=dict)

    def encode(self) -> str:
        """The JSON text stored in Redis (compared byte for byte when amending or clearing)."""
        tenants = {
            t: [ti.start, ti.count, ti.digest, base64.b64encode(ti.old_head).decode()]
            for t, ti in sorted(self.tenants.items())
        }
        return json.dumps({"entries": self.entries, "tenants": tenants}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | bytes) -> Intent:
        """Parse the stored JSON text."""
        obj: dict[str, Any] = json.loads(text)
        tenants = {
            t: TenantIntent(int(s), int(c), str(d), base64.b64decode(h))
            for t, (s, c, d, h) in obj["tenants"].items()
        }
        return cls([str(e) for e in obj["entries"]], tenants)


class LogHeads:
    """Reads and moves log heads and intents in Redis."""

    def __init__(self, redis: Redis, prefix: str, owner: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self.owner = owner
        self._move = redis.register_script(_MOVE)
        self._clear = redis.register_script(_CLEAR)

    def head_key(self, tenant: str) -> str:
        """The Redis key of a tenant's head."""
        return f"{self._prefix}:tlog:head:{tenant}"

    def intent_key(self, shard: int) -> str:
        """The Redis key of a shard's pending intent."""
        return f"{self._prefix}:tlog:intent:{shard}"

    async def raw_heads(self, tenants: Sequence[str]) -> list[bytes]:
        """The heads as stored (``b""`` where there is none)."""
        if not tenants:
            return []
        values = await self._redis.mget([self.head_key(t) for t in tenants])
        return [v if isinstance(v, bytes) else b"" for v in values]

    async def intent(self, shard: int) -> tuple[str, Intent] | None:
        """The pending intent of ``shard`` (its stored text and its content), if any."""
        raw = await self._redis.get(self.intent_key(shard))
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return text, Intent.decode(text)

    async def move(
        self,
        mode: str,
        intents: dict[int, str],
        heads: dict[str, tuple[bytes, CompactRange]],
    ) -> None:
        """Move ``heads`` (tenant: (expected raw head, new head)) under the shards' leases."""
        shards = sorted(intents)
        tenants = sorted(heads)
        keys = [lease_key(self._prefix, s) for s in shards] + [self.intent_key(s) for s in shards]
        keys += [self.head_key(t) for t in tenants]
        args: list[str | bytes] = [self.owner, mode, str(len(shards)), str(len(tenants))]
        args += [intents[s] for s in shards]
        args += [heads[t][0] for t in tenants] + [heads[t][1].to_bytes() for t in tenants]
        status = int(await self._move(keys=keys, args=args))
        if status == -1:
            raise LeaseLost("a shard lease was lost; another worker owns these logs now")
        if status < 0:
            raise HeadsMoved("a log head or intent in Redis is not what this worker expected")

    async def clear(self, shard: int, text: str) -> None:
        """Remove the intent of ``shard`` if it is still ``text``."""
        await self._clear(keys=[self.intent_key(shard)], args=[text])
