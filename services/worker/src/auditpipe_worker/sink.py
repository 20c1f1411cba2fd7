"""Writing events to the store exactly once, and into each tenant's verifiable log.

For each batch: drop keys the store already has (the ``by_key`` projection
makes that a primary-key read); dead-letter rows the table's constraints
would refuse; give the rest their log positions (:mod:`auditpipe_worker.logwriter`);
insert them in one block with a deduplication token; record the log batch;
only then let the caller acknowledge. A crash between insert and acknowledge
is harmless: the redelivered events are found by the key check, and an
interrupted log batch is replayed from its intent before anything else.
Transient store errors are retried with capped exponential backoff, for as
long as this worker still owns the shards. A permanent error is bisected
down to the rows the store refuses: they go to the dead-letter stream, and
in the log a *tombstone* (event ``auditpipe.rejected``, the same key and
``seq``, the SHA-256 of the refused event) takes the position, so the log
never has a hole.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from auditpipe_common.errors import PermanentError, TransientError
from auditpipe_common.logging import get_logger
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import EventColumns
from auditpipe_common.store.rows import constraint_violation
from auditpipe_common.tlog.leaf import event_values
from auditpipe_worker.batch import Entry, unique_by_tenant
from auditpipe_worker.deadletter import DeadLetters
from auditpipe_worker.logheads import LeaseLost
from auditpipe_worker.logwriter import EntryReader, LogWriter, Plan

log = get_logger(__name__)

KEY_CHECK_CHUNK = 5000
TOMBSTONE = "auditpipe.rejected"
T = TypeVar("T")
Owner = Callable[[], Awaitable[bool]]
Row = tuple[AuditEvent, Sequence[Any], int]  # an event, its event_values, its log position


class EventStore(Protocol):
    """What the sink needs of the store (:class:`Store`, or a fault-injecting stand-in)."""

    def existing_keys(self, tenant: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are already stored for ``tenant``."""
        ...

    def insert(self, rows: EventColumns) -> None:
        """Insert one block of rows."""
        ...


class OwnershipLost(Exception):
    """The worker lost a shard lease while retrying; the batch must not be acked."""


@dataclass
class SinkResult:
    """Counts for one batch."""

    stored: int = 0
    duplicates: int = 0
    dead: int = 0


def tombstone(ev: AuditEvent) -> AuditEvent:
    """The event that takes the log position of ``ev`` when the store refuses ``ev``."""
    digest = hashlib.sha256(ev.SerializeToString(deterministic=True)).hexdigest()
    return AuditEvent(
        tenant=ev.tenant,
        seq=ev.seq,
        idempotency_key=ev.idempotency_key,
        occurred_at=ev.received_at,
        received_at=ev.received_at,
        event=TOMBSTONE,
        action=TOMBSTONE,
        attributes=json.dumps({"refused_event_sha256": digest}),
    )


class Sink:
    """Deduplicates, positions and inserts batches of events."""

    def __init__(
        self,
        store: EventStore,
        retention_for: Callable[[str], int],
        deadletters: DeadLetters,
        retry_max_s: float,
        writer: LogWriter | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._after_commit = after_commit  # a fault-injection hook (tests only)
        self._store = store
        self._retention_for = retention_for
        self._dead = deadletters
        self._retry_max_s = retry_max_s
        self._writer = writer

    async def write(
        self, entries: list[Entry], still_owner: Owner, read: EntryReader | None = None
    ) -> SinkResult:
        """Store every new event of ``entries`` exactly once (in its log, with ``read``)."""
        result = SinkResult()
        by_tenant = unique_by_tenant(entries)
        result.duplicates = sum(len(e.events) for e in entries) - sum(map(len, by_tenant.values()))
        writer = self._writer
        replayed = await self._replay(writer, entries, read, result, still_owner)
        fresh = await self._fresh(by_tenant, replayed, result, still_owner)
        if writer is None:
            rows: list[Row] = [(ev, event_values(ev), 0) for evs in fresh.values() for ev in evs]
            await self._insert(rows, result, still_owner)
            return result
        shard_of = {ev.tenant: e.shard for e in entries for ev in e.events}
        ids: dict[int, list[str]] = {}
        for e in entries:
            ids.setdefault(e.shard, []).append(e.entry_id)
        plan = await self._retry(partial(self._commit, writer, fresh, shard_of, ids), still_owner)
        if self._after_commit and plan.appends:
            self._after_commit()
        await self._store_plan(writer, plan, result, still_owner)
        return result

    async def _replay(
        self,
        writer: LogWriter | None,
        entries: list[Entry],
        read: EntryReader | None,
        result: SinkResult,
        still_owner: Owner,
    ) -> set[tuple[str, str]]:
        """Store the interrupted log batches of these shards first; the keys they stored."""
        replayed: set[tuple[str, str]] = set()
        if writer is None or read is None:
            return replayed
        for shard in sorted({e.shard for e in entries}):
            pending = await self._retry(partial(writer.recovery_plan, shard, read), still_owner)
            if pending:
                await self._store_plan(writer, pending, result, still_owner)
                replayed |= {(t, ev.idempotency_key) for t, evs in pending.events() for ev in evs}
        return replayed

    async def _fresh(
        self,
        by_tenant: dict[str, list[AuditEvent]],
        replayed: set[tuple[str, str]],
        result: SinkResult,
        still_owner: Owner,
    ) -> dict[str, list[AuditEvent]]:
        """Each tenant's events that are neither stored yet nor refused by the table."""
        fresh = {}
        for tenant, events in by_tenant.items():
            known = await self._retry(partial(self._known, tenant, events), still_owner)
            result.duplicates += sum((tenant, key) not in replayed for key in known)
            new = [ev for ev in events if ev.idempotency_key not in known]
            fresh[tenant] = await self._valid(new, result)
        return fresh

    @staticmethod
    async def _commit(
        writer: LogWriter,
        fresh: dict[str, list[AuditEvent]],
        shard_of: dict[str, int],
        ids: dict[int, list[str]],
    ) -> Plan:
        try:
            return await writer.commit(fresh, shard_of, ids)
        except LeaseLost as exc:
            raise OwnershipLost(str(exc)) from exc

    async def _known(self, tenant: str, events: list[AuditEvent]) -> set[str]:
        keys = [ev.idempotency_key for ev in events]
        found: set[str] = set()
        for i in range(0, len(keys), KEY_CHECK_CHUNK):
            chunk = keys[i : i + KEY_CHECK_CHUNK]
            found |= await asyncio.to_thread(self._store.existing_keys, tenant, chunk)
        return found

    async def _valid(self, events: list[AuditEvent], result: SinkResult) -> list[AuditEvent]:
        """The events the store can take; the others go to the dead-letter stream."""
        keep = []
        for ev in events:
            problem = constraint_violation(ev)
            if problem is None:
                keep.append(ev)
                continue
            await self._dead.put(ev.tenant, ev.idempotency_key, problem, ev.SerializeToString())
            result.dead += 1
        return keep

    async def _store_plan(
        self, writer: LogWriter, plan: Plan, result: SinkResult, still_owner: Owner
    ) -> None:
        """Insert a committed plan's rows, tombstone refused ones, record the log batch."""
        refused = await self._insert(plan.rows(), result, still_owner)
        for ev, _, position in refused:
            stone = tombstone(ev)
            await self._retry(
                partial(self._put, [(stone, event_values(stone), position)]), still_owner
            )
            plan.appends[ev.tenant].replace(position, stone)
        if refused:
            changed = sorted({ev.tenant for ev, _, _ in refused})
            await self._retry(partial(writer.amend, plan, changed), still_owner)
        await self._retry(partial(writer.finish, plan), still_owner)

    async def _put(self, rows: list[Row]) -> None:
        block = EventColumns()
        for ev, values, position in rows:
            block.append_values(values, self._retention_for(ev.tenant), position)
        await asyncio.to_thread(self._store.insert, block)

    async def _insert(self, rows: list[Row], result: SinkResult, still_owner: Owner) -> list[Row]:
        """Insert ``rows``; returns those the store refused (dead-lettered)."""
        if not rows:
            return []
        try:
            await self._retry(lambda: self._put(rows), still_owner)
            result.stored += len(rows)
            return []
        except PermanentError as exc:
            if len(rows) > 1:
                half = len(rows) // 2
                return await self._insert(rows[:half], result, still_owner) + await self._insert(
                    rows[half:], result, still_owner
                )
            ev = rows[0][0]
            await self._dead.put(ev.tenant, ev.idempotency_key, str(exc), ev.SerializeToString())
            result.dead += 1
            return rows

    async def _retry(self, op: Callable[[], Awaitable[T]], still_owner: Owner) -> T:
        delay = 0.05
        while True:
            if not await still_owner():
                raise OwnershipLost("shard lease lost; leaving the batch to its new owner")
            try:
                return await op()
            except TransientError as exc:
                log.warning("store unavailable, retrying", error=str(exc), delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
