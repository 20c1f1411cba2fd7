"""Writing events to the store exactly once.

For each batch: drop keys the store already has (the ``by_key`` projection
makes that a primary-key read), insert the rest in one block with a
deduplication token, and only then let the caller acknowledge. A crash
between insert and acknowledge is harmless: the redelivered events are found
by the key check and not inserted again. Transient store errors are retried
with capped exponential backoff, for as long as this worker still owns the
shards; a permanent error is bisected down to the rows the store refuses,
which go to the dead-letter stream while the others are stored.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from auditpipe_common.errors import PermanentError, TransientError
from auditpipe_common.logging import get_logger
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import EventColumns
from auditpipe_worker.deadletter import DeadLetters

log = get_logger(__name__)

KEY_CHECK_CHUNK = 5000
T = TypeVar("T")


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


class Sink:
    """Deduplicates and inserts batches of events."""

    def __init__(
        self,
        store: EventStore,
        retention_for: Callable[[str], int],
        deadletters: DeadLetters,
        retry_max_s: float,
    ) -> None:
        self._store = store
        self._retention_for = retention_for
        self._dead = deadletters
        self._retry_max_s = retry_max_s

    async def write(
        self, by_tenant: dict[str, list[AuditEvent]], still_owner: Callable[[], Awaitable[bool]]
    ) -> SinkResult:
        """Store every new event of ``by_tenant`` exactly once."""
        result = SinkResult()
        fresh: list[AuditEvent] = []
        for tenant, events in by_tenant.items():
            known = await self._retry(functools.partial(self._known, tenant, events), still_owner)
            result.duplicates += len(known)
            fresh += [ev for ev in events if ev.idempotency_key not in known]
        await self._insert(fresh, result, still_owner)
        return result

    def _known(self, tenant: str, events: list[AuditEvent]) -> set[str]:
        keys = [ev.idempotency_key for ev in events]
        found: set[str] = set()
        for i in range(0, len(keys), KEY_CHECK_CHUNK):
            found |= self._store.existing_keys(tenant, keys[i : i + KEY_CHECK_CHUNK])
        return found

    def _rows(self, events: list[AuditEvent]) -> EventColumns:
        rows = EventColumns()
        for ev in events:
            rows.append(ev, self._retention_for(ev.tenant))
        return rows

    async def _insert(
        self,
        events: list[AuditEvent],
        result: SinkResult,
        still_owner: Callable[[], Awaitable[bool]],
    ) -> None:
        if not events:
            return
        rows = self._rows(events)
        try:
            await self._retry(lambda: self._store.insert(rows), still_owner)
            result.stored += len(events)
        except PermanentError as exc:
            if len(events) == 1:
                ev = events[0]
                await self._dead.put(
                    ev.tenant, ev.idempotency_key, str(exc), ev.SerializeToString()
                )
                result.dead += 1
                return
            half = len(events) // 2
            await self._insert(events[:half], result, still_owner)
            await self._insert(events[half:], result, still_owner)

    async def _retry(self, op: Callable[[], T], still_owner: Callable[[], Awaitable[bool]]) -> T:
        delay = 0.05
        while True:
            if not await still_owner():
                raise OwnershipLost("shard lease lost; leaving the batch to its new owner")
            try:
                return await asyncio.to_thread(op)
            except TransientError as exc:
                log.warning("store unavailable, retrying", error=str(exc), delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
