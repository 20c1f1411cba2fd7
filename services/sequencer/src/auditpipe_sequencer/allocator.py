"""Range allocation with request coalescing (the timestamp-oracle trick).

Callers ask for ``count`` numbers for a tenant, optionally strictly above a
floor ``after`` (the largest number the caller has already seen, which is
how causal order crosses process boundaries). Requests that arrive while a
Redis call is in flight wait in a queue; the next call serves all of them
with one Lua script that, per tenant, raises the counter to the largest
floor and then ``INCRBY``s it by the sum of the counts. Each caller gets a
contiguous slice of that tenant's new range, in arrival order.

Numbers are never reused: the counter only moves up. (Surviving a Redis that
lost its last writes needs a high-water mark outside Redis; see
docs/reliability.md.) Lua numbers are doubles, so counters stay exact up to
2^53.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis

from auditpipe_common.logging import get_logger

log = get_logger(__name__)

# KEYS: one counter per tenant; ARGV: count_1, floor_1, count_2, floor_2, ...
_ALLOCATE = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[2 * i - 1])
  local floor = tonumber(ARGV[2 * i])
  local cur = tonumber(redis.call('GET', key) or '0')
  if cur < floor then redis.call('SET', key, floor) end
  out[i] = redis.call('INCRBY', key, count)
end
return out
"""


@dataclass
class _Request:
    tenant: str
    count: int
    after: int
    future: asyncio.Future[tuple[int, int]] = field(repr=False)


class RangeAllocator:
    """Coalesces concurrent range requests into one Redis round trip."""

    def __init__(self, redis: Redis, prefix: str = "auditpipe") -> None:
        self._redis = redis
        self._prefix = prefix
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._script = redis.register_script(_ALLOCATE)
        self._task: asyncio.Task[None] | None = None
        self.round_trips = 0

    def counter_key(self, tenant: str) -> str:
        """The Redis key holding a tenant's last handed-out number."""
        return f"{self._prefix}:seq:{{{tenant}}}"

    def start(self) -> None:
        """Start the coalescing loop."""
        self._task = asyncio.create_task(self._run(), name="sequencer-allocator")

    async def stop(self) -> None:
        """Stop the loop; queued requests fail."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def allocate(self, tenant: str, count: int, after: int = 0) -> tuple[int, int]:
        """Reserve ``count`` numbers above ``after``; returns (first, last) inclusive."""
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(tenant, count, after, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._serve(batch)
            except Exception as exc:  # every waiter must hear about the failure
                log.warning("allocation failed", error=str(exc), waiting=len(batch))
                for req in batch:
                    if not req.future.done():
                        req.future.set_exception(exc)

    async def _serve(self, batch: list[_Request]) -> None:
        by_tenant: dict[str, list[_Request]] = {}
        for req in batch:
            by_tenant.setdefault(req.tenant, []).append(req)
        tenants = list(by_tenant)
        args: list[int] = []
        for tenant in tenants:
            reqs = by_tenant[tenant]
            args += [sum(r.count for r in reqs), max(r.after for r in reqs)]
        tops = await self._script(keys=[self.counter_key(t) for t in tenants], args=args)
        self.round_trips += 1
        for tenant, top in zip(tenants, tops, strict=True):
            reqs = by_tenant[tenant]
            nxt = int(top) - sum(r.count for r in reqs) + 1
            for req in reqs:
                if not req.future.done():
                    req.future.set_result((nxt, nxt + req.count - 1))
                nxt += req.count
