"""The worker loop: lease shards, read entries, store them, acknowledge.

Order of operations per batch (the exactly-once argument):

1. read entries (own pending ones first after taking a shard over),
2. decode; undecodable or trimmed entries go to the dead-letter stream,
3. replay any interrupted log batch of these shards, drop duplicates against
   the store, give the rest their log positions and insert them (``Sink``),
4. only then ``XACK`` and ``XDEL`` the entries.

A crash anywhere before 4 leaves the entries pending; whoever owns the shard
next claims them (``XAUTOCLAIM``) and step 3 stores nothing twice. Between
batches the worker also signs the checkpoints that are due by time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from auditpipe_common.errors import AuditpipeError
from auditpipe_common.logging import get_logger
from auditpipe_common.store import Store
from auditpipe_common.store.logtables import LogTables
from auditpipe_common.streams import GROUP, ensure_group, stream_key
from auditpipe_common.tlog import load_private_key
from auditpipe_worker.attempts import Attempts
from auditpipe_worker.batch import Entry, decode_entry
from auditpipe_worker.deadletter import DeadLetters
from auditpipe_worker.faults import UnavailableStore
from auditpipe_worker.leases import ShardLeases
from auditpipe_worker.logheads import LogHeads
from auditpipe_worker.logwriter import LogWriter, Signers
from auditpipe_worker.settings import WorkerSettings
from auditpipe_worker.sink import OwnershipLost, Sink, SinkResult

log = get_logger(__name__)


class Worker:
    """Consumes the event streams of the shards it leases."""

    def __init__(self, settings: WorkerSettings, redis: Redis, store: Store) -> None:
        self._s = settings
        self._redis = redis
        self._leases = ShardLeases(
            redis,
            settings.key_prefix,
            settings.consumer,
            settings.stream_shards,
            settings.lease_ms,
        )
        self.deadletters = DeadLetters(redis, settings.key_prefix)
        self._attempts = Attempts(redis, settings.key_prefix, settings.max_attempts)
        sink_store: Store | UnavailableStore = store
        if settings.fault_store_unavailable_s:
            sink_store = UnavailableStore(
                store, settings.fault_store_unavailable_s, settings.fault_store_mode
            )
        self.log_writer = log_writer(settings, redis, LogTables(sink_store))
        self._sink = Sink(
            sink_store,
            settings.retention_for,
            self.deadletters,
            settings.retry_max_ms / 1000,
            self.log_writer,
            _kill_self if settings.fault_kill_after_log_commit else None,
        )
        self._pending_first: set[int] = set()
        self._stopping = asyncio.Event()
        self.totals = SinkResult()
        self._last_refresh = 0.0

    def stop(self) -> None:
        """Ask the loop to finish its current batch and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Run until :meth:`stop`; leases are released on the way out."""
        for shard in range(self._s.stream_shards):
            await ensure_group(self._redis, stream_key(self._s.key_prefix, shard))
        log.info("worker started", consumer=self._s.consumer, shards=self._s.stream_shards)
        try:
            while not self._stopping.is_set():
                try:
                    await self._step()
                except RedisError as exc:  # Redis restarting or failing over: wait, go on
                    log.warning("redis unavailable", error=str(exc))
                    self._last_refresh = 0.0
                    if self.log_writer:  # Redis may come back without the latest log heads
                        self.log_writer.forget()
                    await self._sleep(0.5)
                except Exception as exc:  # a batch failed; its entries are retried one by one
                    log.error("batch failed", error=f"{type(exc).__name__}: {exc}")
                    self._last_refresh = 0.0  # find them pending again
                    await self._sleep(0.5)
        finally:
            if self.log_writer:  # a clean stop leaves every stored event under a checkpoint
                with contextlib.suppress(AuditpipeError):
                    await self.log_writer.sign_due(force=True)
            with contextlib.suppress(RedisError):
                await self._leases.release_all()
            log.info("worker stopped", stored=self.totals.stored, dead=self.totals.dead)

    async def _step(self) -> None:
        await self._refresh()
        entries = await self._gather()
        if entries:
            await self._process(entries)
        elif not self._leases.owned:
            await self._sleep(self._s.lease_ms / 4000)
        if self.log_writer:
            try:
                await self.log_writer.sign_due()
            except AuditpipeError as exc:
                log.warning("checkpoint not signed yet", error=str(exc))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._last_refresh < self._s.lease_ms / 3000:
            return
        self._last_refresh = now
        gained = await self._leases.refresh()
        if gained and self.log_writer:  # another worker may have written these logs meanwhile
            self.log_writer.forget()
        for shard in gained:
            await self._claim(shard)
        await self._find_orphans()

    async def _find_orphans(self) -> None:
        """Re-read own pending entries left behind (an ack that failed, a Redis restart).

        Called between batches, when this worker holds no entry in flight, so every
        entry still pending for it is one it will otherwise never see again.
        """
        for shard in self._leases.owned - self._pending_first:
            summary = await self._redis.xpending(stream_key(self._s.key_prefix, shard), GROUP)
            mine = [c for c in summary.get("consumers") or [] if _name(c) == self._s.consumer]
            if mine and int(mine[0]["pending"]):
                log.info("re-reading own pending entries", shard=shard)
                self._pending_first.add(shard)

    async def _claim(self, shard: int) -> None:
        """Take over every pending entry of a newly leased shard."""
        stream = stream_key(self._s.key_prefix, shard)
        start = "0-0"
        while True:
            nxt, _claimed, deleted = await self._redis.xautoclaim(
                stream, GROUP, self._s.consumer, min_idle_time=0, start_id=start, count=100
            )
            if deleted:
                await self._redis.xack(stream, GROUP, *deleted)
            start = nxt.decode() if isinstance(nxt, bytes) else nxt
            if start == "0-0":
                break
        self._pending_first.add(shard)
        log.info("shard acquired", shard=shard)

    async def _read(self, block_ms: int | None) -> list[Entry]:
        owned = sorted(self._leases.owned)
        if not owned:
            return []
        streams = {
            stream_key(self._s.key_prefix, s): ("0" if s in self._pending_first else ">")
            for s in owned
        }
        reply: Any = await self._redis.xreadgroup(
            GROUP,
            self._s.consumer,
            streams,  # type: ignore[arg-type]
            count=1 if self._pending_first else self._s.read_count,  # pending: one at a time
            block=block_ms,
        )
        got: set[str] = set()
        entries = []
        for raw_stream, items in reply or []:
            stream = raw_stream.decode()
            if items:
                got.add(stream)
            for raw_id, fields in items:
                entries.append(decode_entry(stream, raw_id.decode(), fields))
                if streams[stream] == "0":
                    await self._attempts.start(entries[-1])
        for s in list(self._pending_first):
            if stream_key(self._s.key_prefix, s) not in got:
                self._pending_first.discard(s)  # own backlog drained; switch to new entries
        return entries

    async def _gather(self) -> list[Entry]:
        """Read until the batch is big enough or the wait is over."""
        deadline = time.monotonic() + self._s.batch_wait_ms / 1000
        entries = await self._read(block_ms=self._s.batch_wait_ms)
        rows = sum(len(e.events) for e in entries)
        # Re-reading own pending entries ("0") would return the same ones again.
        while (
            entries
            and not self._pending_first
            and rows < self._s.batch_rows
            and time.monotonic() < deadline
        ):
            more = await self._read(block_ms=None)
            if not more:
                await self._sleep(min(0.01, max(deadline - time.monotonic(), 0)))
                continue
            entries += more
            rows += sum(len(e.events) for e in more)
        return entries

    async def _process(self, entries: list[Entry]) -> None:
        dead = [e for e in entries if e.error]
        for entry in dead:
            await self.deadletters.put(entry.stream, entry.entry_id, entry.error, entry.payload)
        if dead:  # settled at once, so that replaying an interrupted log batch skips them
            await self._ack(dead)
            entries = [e for e in entries if not e.error]
        shards = {e.shard for e in entries}

        async def still_owner() -> bool:
            return all([await self._leases.holds(s) for s in shards])

        if self._s.fault_kill_before_insert:
            _kill_self()
        try:
            result = await self._sink.write(entries, still_owner, self._read_entries)
        except OwnershipLost as exc:
            log.warning("batch abandoned", reason=str(exc), entries=len(entries))
            self._leases.owned -= shards
            await self._attempts.abandoned(entries)
            return
        except Exception as exc:
            await self._attempts.failed(entries, exc)
            raise
        if self._s.fault_kill_after_insert and result.stored:
            _kill_self()
        await self._ack(entries)
        self.totals.stored += result.stored
        self.totals.duplicates += result.duplicates
        self.totals.dead += result.dead
        log.info(
            "batch stored",
            entries=len(entries),
            stored=result.stored,
            duplicates=result.duplicates,
            dead=result.dead,
        )

    async def _read_entries(self, shard: int, ids: list[str]) -> list[Entry]:
        """Entries of ``shard`` by id, in the given order (for replaying an intent)."""
        stream = stream_key(self._s.key_prefix, shard)
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(stream, entry_id, entry_id)
            replies = await pipe.execute()
        entries = []
        for entry_id, reply in zip(ids, replies, strict=True):
            fields = reply[0][1] if reply else None
            entries.append(decode_entry(stream, entry_id, fields))
        return entries

    async def _ack(self, entries: Iterable[Entry]) -> None:
        by_stream: dict[str, list[str]] = {}
        for e in entries:
            by_stream.setdefault(e.stream, []).append(e.entry_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream, ids in by_stream.items():
                pipe.xack(stream, GROUP, *ids)
                pipe.xdel(stream, *ids)
            self._attempts.forget(pipe, entries)
            await pipe.execute()


def _kill_self() -> None:
    """The fault hooks' end: die as a crash would, with nothing cleaned up."""
    os.kill(os.getpid(), signal.SIGKILL)


def _name(consumer: dict[str, Any]) -> str:
    name = consumer["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def log_writer(settings: WorkerSettings, redis: Redis, tables: LogTables) -> LogWriter | None:
    """The tenants' log writer, or None when the log is switched off (benchmarks only)."""
    if not settings.log_enabled:
        return None
    keys = [load_private_key(path) for path in settings.log_key_files]
    if not keys:
        log.warning("no log signing key (AUDITPIPE_LOG_KEY_FILES): checkpoints are not signed")
    return LogWriter(
        LogHeads(redis, settings.key_prefix, settings.consumer),
        tables,
        Signers(settings.log_deployment, keys),
        settings.retention_for,
        settings.checkpoint_events,
        settings.checkpoint_interval_s,
    )
