"""Appending stored events to each tenant's verifiable log, one writer per log.

A tenant always maps to one stream shard, so the worker holding that shard's
lease is its log's only writer. Per batch (see :class:`~auditpipe_worker.sink.Sink`):

1. **plan**: each tenant's fresh events get the positions after its head, in
   batch order, with their leaf hashes (docs/verification.md) and the new head;
2. **commit**: one Lua call moves the heads and records an intent per shard,
   but only while this worker holds every lease involved
   (:mod:`auditpipe_worker.logheads`). From then on those positions belong to
   those events, whoever stores them;
3. the sink stores the rows; then :meth:`LogWriter.finish` records the
   appended positions in ``log_batches``, signs the checkpoints that are due
   and clears the intents.

A worker that dies after step 2 leaves the intent; the shard's next owner
replays it from the same stream entries first (same events, positions and
insert tokens), so a crash leaves no hole and no position ever gets a second
event. The heads in Redis are a cache of the store: the first time a worker
writes a tenant, and whenever Redis does not hold the head it expects, the
head is read back from the store and Redis is moved to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.errors import PermanentError
from auditpipe_common.logging import get_logger
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store.logtables import LogBatch, LogTables
from auditpipe_common.store.rows import constraint_violation
from auditpipe_common.timeutil import now_us
from auditpipe_common.tlog import Checkpoint, CompactRange, Signer, log_origin, sign_checkpoint
from auditpipe_common.tlog.leaf import event_values, leaf_hash_of
from auditpipe_worker.batch import Entry, unique_by_tenant
from auditpipe_worker.logheads import HeadsMoved, Intent, LogHeads, TenantIntent, keys_digest

log = get_logger(__name__)

DAY_US = 86_400_000_000
EntryReader = Callable[[int, list[str]], Awaitable[list[Entry]]]
ROLL_FORWARD_CHUNK = 10_000


@dataclass
class TenantAppend:
    """The positions one batch gives one tenant's events."""

    tenant: str
    shard: int
    old_raw: bytes
    old: CompactRange
    events: list[AuditEvent]
    values: list[Sequence[Any]] = field(default_factory=list)  # event_values of each event
    hashes: list[bytes] = field(default_factory=list)
    new: CompactRange = field(default_factory=CompactRange)

    @property
    def start(self) -> int:
        """The first position of the batch."""
        return self.old.size

    def place(self) -> None:
        """Compute the leaf hashes and the new head from ``old`` and ``events``."""
        self.values = [event_values(ev) for ev in self.events]
        self.hashes = [leaf_hash_of(v, self.start + i) for i, v in enumerate(self.values)]
        self.new = self.old.copy()
        self.new.extend(self.hashes)

    def replace(self, position: int, ev: AuditEvent) -> None:
        """Put ``ev`` at ``position`` instead of the event planned there (recomputes the head)."""
        self.events[position - self.start] = ev
        self.place()


@dataclass
class Plan:
    """One committed batch: the appends and the intent text per shard."""

    appends: dict[str, TenantAppend]
    intents: dict[int, str]

    def events(self) -> list[tuple[str, list[AuditEvent]]]:
        """Each tenant's events, in position order."""
        return [(t, a.events) for t, a in self.appends.items()]

    def rows(self) -> list[tuple[AuditEvent, Sequence[Any], int]]:
        """Every event with its values and position, ready to insert."""
        return [
            (ev, a.values[i], a.start + i)
            for a in self.appends.values()
            for i, ev in enumerate(a.events)
        ]


class Signers:
    """The log keys, as note signers named after each tenant's origin."""

    def __init__(self, deployment: str, keys: Sequence[Ed25519PrivateKey]) -> None:
        self._deployment = deployment
        self._keys = list(keys)
        self._cache: dict[str, list[Signer]] = {}

    def origin(self, tenant: str) -> str:
        """The origin (log name) of ``tenant``'s log."""
        return log_origin(self._deployment, tenant)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def for_tenant(self, tenant: str) -> list[Signer]:
        """One signer per key, named after the tenant's origin."""
        if tenant not in self._cache:
            self._cache[tenant] = [Signer(self.origin(tenant), key) for key in self._keys]
        return self._cache[tenant]


class LogWriter:
    """Plans, commits and records the appends of this worker's batches."""

    def __init__(
        self,
        heads: LogHeads,
        tables: LogTables,
        signers: Signers,
        retention_for: Callable[[str], int],
        checkpoint_events: int,
        checkpoint_seconds: float,
    ) -> None:
        self._heads = heads
        self._tables = tables
        self._signers = signers
        self._retention_for = retention_for
        self._every_events = checkpoint_events
        self._every_s = checkpoint_seconds
        self._known: dict[str, CompactRange] = {}  # heads this worker wrote or read back
        self._signed: dict[str, tuple[int, float]] = {}  # tenant: (size, monotonic time)

    def forget(self, tenants: Sequence[str] | None = None) -> None:
        """Drop cached heads (all, or those of ``tenants``): re-read them before writing."""
        for tenant in list(self._known) if tenants is None else tenants:
            self._known.pop(tenant, None)

    # -- planning and committing --------------------------------------------

    async def commit(
        self,
        fresh: dict[str, list[AuditEvent]],
        shard_of: dict[str, int],
        entries: dict[int, list[str]],
    ) -> Plan:
        """Give the fresh events positions and commit them (LeaseLost, HeadsMoved)."""
        appends = await self._appends(fresh, shard_of)
        plan = Plan(appends, self._intents(appends, entries))
        try:
            await self._heads.move(
                "commit", plan.intents, {t: (a.old_raw, a.new) for t, a in appends.items()}
            )
        except HeadsMoved:
            self.forget(list(appends))
            raise
        for tenant, append in appends.items():
            self._known[tenant] = append.new
        return plan

    async def _appends(
        self, fresh: dict[str, list[AuditEvent]], shard_of: dict[str, int]
    ) -> dict[str, TenantAppend]:
        tenants = sorted(t for t, evs in fresh.items() if evs)
        raws = await self._heads.raw_heads(tenants)
        appends = {}
        for tenant, raw in zip(tenants, raws, strict=True):
            head = self._known.get(tenant)
            if head is None or raw != head.to_bytes():
                if head is not None:
                    log.warning(
                        "redis lost a log head; reading it back from the store", tenant=tenant
                    )
                head = await asyncio.to_thread(self.head_from_store, tenant, raw)
            append = TenantAppend(tenant, shard_of[tenant], raw, head, list(fresh[tenant]))
            append.place()
            appends[tenant] = append
        return appends

    @staticmethod
    def _intents(appends: dict[str, TenantAppend], entries: dict[int, list[str]]) -> dict[int, str]:
        by_shard = {shard: Intent(list(ids)) for shard, ids in entries.items()}
        for tenant, a in appends.items():
            digest = keys_digest([ev.idempotency_key for ev in a.events])
            by_shard[a.shard].tenants[tenant] = TenantIntent(
                a.start, len(a.events), digest, a.old.to_bytes()
            )
        return {shard: intent.encode() for shard, intent in by_shard.items() if intent.tenants}

    async def amend(self, plan: Plan, changed: Sequence[str]) -> None:
        """Move the heads of ``changed`` tenants again after events were replaced."""
        raws = await self._heads.raw_heads(changed)
        moves = {t: (raw, plan.appends[t].new) for t, raw in zip(changed, raws, strict=True)}
        await self._heads.move("amend", plan.intents, moves)
        for tenant in changed:
            self._known[tenant] = plan.appends[tenant].new

    # -- replaying an intent a previous batch left ----------------------------

    async def recovery_plan(self, shard: int, read: EntryReader) -> Plan | None:
        """What the intent pending in ``shard`` still needs stored, from its stream entries.

        Tenants whose batch was recorded are done. For the others the events are
        taken again from the same entries, deduplicated against what is stored
        below the intent's first position; they must be the same keys (count and
        digest). If they are not (entries deleted by hand) and nothing of them was
        stored, the head is moved back and the events get new positions later;
        otherwise the shard stops with an error, since a position would be lost.
        """
        pending = await self._heads.intent(shard)
        if pending is None:
            return None
        text, intent = pending
        log.warning("replaying the intent of an interrupted batch", shard=shard,
                    tenants=len(intent.tenants))  # fmt: skip
        by_tenant = unique_by_tenant(await read(shard, intent.entries))
        appends = {}
        for tenant, ti in intent.tenants.items():
            if await asyncio.to_thread(self._tables.has_batch, tenant, ti.start):
                continue
            events = await asyncio.to_thread(self._again, tenant, by_tenant.get(tenant, []), ti)
            if events is None:
                await self._undo(shard, text, tenant, ti)
                continue
            append = TenantAppend(tenant, shard, b"", CompactRange.from_bytes(ti.old_head), events)
            append.place()
            appends[tenant] = append
        return Plan(appends, {shard: text})

    def _again(
        self, tenant: str, events: list[AuditEvent], ti: TenantIntent
    ) -> list[AuditEvent] | None:
        keys = [ev.idempotency_key for ev in events]
        known = self._tables.keys_before(tenant, keys, ti.start)
        again = [
            ev for ev in events
            if ev.idempotency_key not in known and constraint_violation(ev) is None
        ]  # fmt: skip
        same = (
            len(again) == ti.count and keys_digest([e.idempotency_key for e in again]) == ti.digest
        )
        return again if same else None

    async def _undo(self, shard: int, text: str, tenant: str, ti: TenantIntent) -> None:
        if await asyncio.to_thread(self._tables.rows_from, tenant, ti.start):
            raise PermanentError(
                f"the interrupted batch of {tenant!r} at position {ti.start} cannot be replayed "
                "(its stream entries are gone) and part of it is stored: repair by hand"
            )
        old = CompactRange.from_bytes(ti.old_head)
        raw = (await self._heads.raw_heads([tenant]))[0]
        await self._heads.move("amend", {shard: text}, {tenant: (raw, old)})
        self._known[tenant] = old
        log.error("an interrupted batch could not be replayed; its positions are reassigned",
                  tenant=tenant, start=ti.start, count=ti.count)  # fmt: skip

    # -- after the rows are stored ------------------------------------------

    async def finish(self, plan: Plan) -> None:
        """Record the appended batches, sign due checkpoints, clear the intents."""
        written = now_us()
        records = [r for a in plan.appends.values() for r in self._records(a, written)]
        for a in plan.appends.values():
            self._known[a.tenant] = a.new
        await asyncio.to_thread(self._tables.add_batches, records)
        await self.sign_due([a.tenant for a in plan.appends.values()])
        for shard, text in plan.intents.items():
            await self._heads.clear(shard, text)

    def _records(self, a: TenantAppend, written_us: int) -> list[LogBatch]:
        """The ``log_batches`` rows of one append: one per run of events received together.

        Ingest stamps every event of a request with one ``received_at``, so a run
        shares its retention deadline exactly; the verifier then knows, for every
        position, whether retention may already have dropped its row.
        """
        retention = self._retention_for(a.tenant) * DAY_US
        head, records, i = a.old.copy(), [], 0
        while i < len(a.events):
            received = a.events[i].received_at
            j = i
            while j < len(a.events) and a.events[j].received_at == received:
                j += 1
            head.extend(a.hashes[i:j])
            hashes = b"".join(a.hashes[i:j])
            records.append(
                LogBatch(a.tenant, a.start + i, hashes, head.to_bytes(), received + retention,
                         written_us)
            )  # fmt: skip
            i = j
        return records

    async def sign_due(self, tenants: Sequence[str] | None = None, *, force: bool = False) -> int:
        """Sign a checkpoint for each tenant whose log grew enough or long enough ago."""
        if not self._signers:
            return 0
        signed = 0
        for tenant in list(self._known) if tenants is None else tenants:
            head = self._known.get(tenant)
            if head is None or head.size == 0:
                continue
            mark = self._signed.get(tenant)
            size, at = mark if mark else await asyncio.to_thread(self._last_signed, tenant)
            grown = head.size - size
            if grown and (
                force or grown >= self._every_events or time.monotonic() - at >= self._every_s
            ):
                await asyncio.to_thread(self._sign, tenant, head)
                signed += 1
        return signed

    def _last_signed(self, tenant: str) -> tuple[int, float]:
        latest = self._tables.latest_checkpoint(tenant)
        mark = (latest.size if latest else 0, time.monotonic())
        self._signed[tenant] = mark
        return mark

    def _sign(self, tenant: str, head: CompactRange) -> None:
        at = now_us()
        cp = Checkpoint(self._signers.origin(tenant), head.size, head.root(), at)
        note = sign_checkpoint(cp, self._signers.for_tenant(tenant))
        self._tables.add_checkpoint(tenant, head.size, cp.root_hash, at, note)
        self._signed[tenant] = (head.size, time.monotonic())
        log.info("checkpoint signed", tenant=tenant, size=head.size)

    # -- reading a head back from the store ---------------------------------

    def head_from_store(self, tenant: str, raw: bytes = b"") -> CompactRange:
        """The head the store proves: the last recorded batch, then any rows stored after it.

        Rows after the last ``log_batches`` row exist only if a worker died between
        storing a batch's rows and recording it while Redis also lost its intent;
        they are rolled forward (and recorded) so that no position is reused.
        """
        latest = self._tables.latest_batch(tenant)
        head = CompactRange.from_bytes(latest.state) if latest else CompactRange()
        while self._tables.rows_from(tenant, head.size):
            rows = self._tables.events_at(tenant, head.size, head.size + ROLL_FORWARD_CHUNK)
            run = _contiguous(rows, head.size)
            if not run:
                raise PermanentError(
                    f"rows of {tenant!r} are stored after position {head.size} but not at it: "
                    "a hole in the log; the shard stops rather than fork it (verify the log)"
                )
            append = TenantAppend(tenant, 0, b"", head, run)
            append.place()
            self._tables.add_batches(self._records(append, now_us()))
            log.warning("rolled the log head forward over unrecorded rows", tenant=tenant,
                        start=head.size, count=len(run))  # fmt: skip
            head = append.new
        redis_size = CompactRange.from_bytes(raw).size if raw else 0
        if redis_size > head.size:
            log.error("redis holds a longer log than the store; continuing from the store",
                      tenant=tenant, redis_size=redis_size, store_size=head.size)  # fmt: skip
        return head


def _contiguous(rows: Sequence[tuple[int, AuditEvent]], first: int) -> list[AuditEvent]:
    """The events of ``rows`` at ``first``, ``first + 1``, ... up to the first gap or repeat."""
    run = []
    for expected, (position, ev) in enumerate(rows, start=first):
        if position != expected:
            break
        run.append(ev)
    return run
