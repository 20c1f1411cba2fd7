"""Range allocation with request coalescing (the timestamp-oracle trick).

Callers ask for ``count`` numbers for a tenant, optionally strictly above a
floor ``after`` (the largest number the caller has already seen, which is
how causal order crosses process boundaries). Requests that arrive while a
Redis call is in flight wait in a queue; the next call serves all of them
with one Lua script that, per tenant, raises the counter to the floor and
then ``INCRBY``s it by the sum of the counts. Each caller gets a contiguous
slice of its tenant's new range, in arrival order.

Never a repeat, never a regression, even when Redis loses writes:

* the script first compares Redis' ``run_id`` with the one this allocator
  last trusted and changes nothing if it differs. A different ``run_id``
  means a restart (which may have lost the last second of writes) or a
  failover (to a replica that may lag);
* after such a change, and for every tenant the first time this process
  serves it, the floor is raised to the tenant's durable *reservation*
  (:mod:`auditpipe_sequencer.reservations`), which is at least every number
  any sequencer ever handed out;
* a range that would cross the reservation raises it durably *before* the
  numbers are handed out.

Fencing (``fencing=True``, how Kubernetes runs it): at start the allocator claims
a new *epoch*, one above both the one in Redis and the durable one, and raises
the durable one to it. The allocation script refuses to run for an epoch below
Redis' (and restores Redis' copy if a lost write took it below); after every
change of incarnation the durable epoch is checked too. A sequencer that a newer
one has replaced is thus *fenced*: it never hands out another number.

Lua numbers are doubles, so counters stay exact up to 2^53.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from redis.asyncio import Redis

from auditpipe_common.logging import get_logger
from auditpipe_sequencer.reservations import Reservations

log = get_logger(__name__)

# KEYS: the epoch key, then one counter per tenant. ARGV: expected run_id, epoch (0: no
# fencing), then count_i, floor_i per counter. Returns {run_id} alone (and changes nothing)
# when run_id is not the expected one, {run_id, 'fenced'} when a newer epoch exists.
_ALLOCATE = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
if run_id ~= ARGV[1] then return {run_id} end
local epoch = tonumber(ARGV[2])
if epoch > 0 then
  local current = tonumber(redis.call('GET', KEYS[1]) or '0')
  if current > epoch then return {run_id, 'fenced'} end
  if current < epoch then redis.call('SET', KEYS[1], epoch) end
end
local out = {run_id}
for i = 2, #KEYS do
  local count = tonumber(ARGV[2 * i - 1])
  local floor = tonumber(ARGV[2 * i])
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  if cur < floor then redis.call('SET', KEYS[i], floor) end
  out[i] = redis.call('INCRBY', KEYS[i], count)
end
return out
"""
# KEYS: the epoch key. ARGV: the durable epoch. A new epoch above both.
_CLAIM = """
local epoch = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1])) + 1
redis.call('SET', KEYS[1], epoch)
return epoch
"""
# The reservations entry holding the durable epoch (no tenant name starts with "_").
EPOCH = "__epoch__"


class Fenced(RuntimeError):
    """A newer sequencer claimed the epoch: this one never hands out another number."""


@dataclass
class _Request:
    tenant: str
    count: int
    after: int
    future: asyncio.Future[tuple[int, int]] = field(repr=False)


class RangeAllocator:
    """Coalesces concurrent range requests into one Redis round trip."""

    def __init__(
        self,
        redis: Redis,
        reservations: Reservations,
        prefix: str = "auditpipe",
        reserve_block: int = 10_000,
        *,
        fencing: bool = False,
    ) -> None:
        self._redis = redis
        self._reservations = reservations
        self._prefix = prefix
        self._block = reserve_block
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._script = redis.register_script(_ALLOCATE)
        self._claim = redis.register_script(_CLAIM)
        self._fencing = fencing
        self.epoch = 0  # this allocator's fencing epoch, once claimed
        self.fenced = False
        self._task: asyncio.Task[None] | None = None
        self._run_id = ""  # the Redis incarnation this allocator trusts
        self._synced: set[str] = set()  # tenants whose floor includes the reservation
        self._floor: dict[str, int] = {}  # per tenant: no number at or below it is handed out
        self._reserved: dict[str, int] = {}
        self.round_trips = 0

    def counter_key(self, tenant: str) -> str:
        """The Redis key holding a tenant's last handed-out number."""
        return f"{self._prefix}:seq:{{{tenant}}}"

    @property
    def epoch_key(self) -> str:
        """The Redis key holding the newest fencing epoch."""
        return f"{self._prefix}:seq:epoch"

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

    async def _sync_floors(self, tenants: list[str]) -> None:
        """Raise the floor of tenants not yet synced to their durable reservation."""
        for tenant in tenants:
            if tenant not in self._synced:
                reserved = await asyncio.to_thread(self._reservations.read, tenant)
                self._reserved[tenant] = max(self._reserved.get(tenant, 0), reserved)
                self._floor[tenant] = max(self._floor.get(tenant, 0), reserved)
                self._synced.add(tenant)

    async def claim(self) -> None:
        """With fencing, claim the epoch now, fencing older sequencers (else a no-op)."""
        await self._sync_epoch()

    async def _sync_epoch(self) -> None:
        """Claim an epoch (first time), or check that no newer one was made durable."""
        if not self._fencing:
            return
        durable = await asyncio.to_thread(self._reservations.read, EPOCH)
        if not self.epoch:
            claimed = int(await self._claim(keys=[self.epoch_key], args=[durable]))
            durable = await asyncio.to_thread(self._reservations.raise_to, EPOCH, claimed)
            self.epoch = claimed
            log.info("claimed the sequencer epoch", epoch=claimed)
        if durable > self.epoch:
            self._fence(durable)

    def _fence(self, newer: int) -> None:
        if not self.fenced:
            log.error("fenced: a newer sequencer took over", epoch=self.epoch, newer=newer)
        self.fenced = True
        raise Fenced(f"sequencer epoch {self.epoch} was replaced by {newer}")

    async def _call(self, by_tenant: dict[str, list[_Request]]) -> list[int]:
        """Run the script until it runs against the incarnation we synced floors for."""
        tenants = list(by_tenant)
        while True:
            if self.fenced:
                raise Fenced(f"sequencer epoch {self.epoch} was replaced")
            await self._sync_floors(tenants)
            args: list[str | int] = [self._run_id, self.epoch]
            for tenant in tenants:
                reqs = by_tenant[tenant]
                floor = max(self._floor.get(tenant, 0), *(r.after for r in reqs))
                args += [sum(r.count for r in reqs), floor]
            keys = [self.epoch_key, *(self.counter_key(t) for t in tenants)]
            reply = await self._script(keys=keys, args=args)
            self.round_trips += 1
            run_id = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
            if run_id == self._run_id:
                if len(reply) > 1 and reply[1] in (b"fenced", "fenced"):
                    self._fence(int(await self._redis.get(self.epoch_key) or 0))
                return [int(top) for top in reply[1:]]
            if self._run_id:
                log.warning(
                    "redis incarnation changed; resuming above reservations",
                    old=self._run_id,
                    new=run_id,
                )
            self._run_id = run_id
            self._synced.clear()
            await self._sync_epoch()

    async def _serve(self, batch: list[_Request]) -> None:
        by_tenant: dict[str, list[_Request]] = {}
        for req in batch:
            by_tenant.setdefault(req.tenant, []).append(req)
        tops = await self._call(by_tenant)
        for tenant, top in zip(by_tenant, tops, strict=True):
            if top > self._reserved.get(tenant, 0):
                self._reserved[tenant] = await asyncio.to_thread(
                    self._reservations.raise_to, tenant, top + self._block
                )
            self._floor[tenant] = max(self._floor.get(tenant, 0), top)
            reqs = by_tenant[tenant]
            nxt = top - sum(r.count for r in reqs) + 1
            for req in reqs:
                if not req.future.done():
                    req.future.set_result((nxt, nxt + req.count - 1))
                nxt += req.count
