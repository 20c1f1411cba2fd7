"""The verifiable log in the store: rows by position, appended batches, signed checkpoints.

The worker writes; the verifier, the proof endpoints and the CLI read. Every
method raises TransientError or PermanentError, like :class:`Store`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import ddl
from auditpipe_common.store.rows import SELECT_COLUMNS, event_from_row

HASH = 32
_BATCH_COLUMNS = ("tenant", "start", "count", "leaf_hashes", "state", "expires_at", "written_at")
_CHECKPOINT_COLUMNS = ("tenant", "size", "root", "signed_at", "note")
_BATCH_SELECT = (
    "tenant, start, count, leaf_hashes, state, toUnixTimestamp64Micro(expires_at), "
    "toUnixTimestamp64Micro(written_at)"
)


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


@dataclass(frozen=True)
class LogBatch:
    """One batch appended to a tenant's log: positions ``[start, start + count)``.

    ``leaf_hashes`` holds the batch's 32-byte leaf hashes back to back,
    ``state`` the tree state (compact range bytes) after the batch, and
    ``expires_at_us`` the earliest moment retention may drop one of its rows.
    """

    tenant: str
    start: int
    leaf_hashes: bytes
    state: bytes
    expires_at_us: int
    written_at_us: int = 0

    @property
    def count(self) -> int:
        """The number of positions the batch covers."""
        return len(self.leaf_hashes) // HASH

    @property
    def end(self) -> int:
        """The first position after the batch."""
        return self.start + self.count

    def leaf_hash(self, position: int) -> bytes:
        """The recorded leaf hash at ``position`` (which must be in the batch)."""
        offset = (position - self.start) * HASH
        return self.leaf_hashes[offset : offset + HASH]

    def token(self) -> str:
        """Its insert-deduplication token: a replayed append is stored once."""
        digest = hashlib.sha256(self.leaf_hashes).hexdigest()
        return f"log:{self.tenant}:{self.start}:{digest}"


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint as stored: its size and the signed note text."""

    tenant: str
    size: int
    note: str


class TableStore(Protocol):
    """What the log tables need of a store (:class:`~auditpipe_common.store.Store`)."""

    @property
    def database(self) -> str:
        """The database name."""
        ...

    @property
    def table(self) -> str:
        """The qualified events table."""
        ...

    def query_rows(
        self, sql: str, params: dict[str, Any] | None = None, binary: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """Run a read-only query."""
        ...

    def insert_columns(
        self, table: str, names: Sequence[str], columns: list[list[Any]], token: str
    ) -> None:
        """Insert one column-oriented block."""
        ...


class LogTables:
    """Reads and writes the log's tables of one store."""

    def __init__(self, store: TableStore) -> None:
        self.store = store
        self._events = store.table
        self._batches = f"{store.database}.{ddl.LOG_BATCHES_TABLE}"
        self._checkpoints = f"{store.database}.{ddl.CHECKPOINTS_TABLE}"

    # -- writing (the worker) ------------------------------------------------

    def add_batches(self, batches: Sequence[LogBatch]) -> None:
        """Record appended batches (one insert; replaying it stores nothing twice)."""
        if not batches:
            return
        columns: list[list[Any]] = [
            [b.tenant for b in batches],
            [b.start for b in batches],
            [b.count for b in batches],
            [b.leaf_hashes for b in batches],
            [b.state for b in batches],
            [_utc(b.expires_at_us) for b in batches],
            [_utc(b.written_at_us) for b in batches],
        ]
        token = hashlib.sha256("|".join(b.token() for b in batches).encode()).hexdigest()
        self.store.insert_columns(ddl.LOG_BATCHES_TABLE, _BATCH_COLUMNS, columns, token)

    def add_checkpoint(self, tenant: str, size: int, root: bytes, time_us: int, note: str) -> None:
        """Store one signed checkpoint."""
        columns: list[list[Any]] = [[tenant], [size], [root], [_utc(time_us)], [note]]
        token = hashlib.sha256(note.encode()).hexdigest()
        self.store.insert_columns(ddl.CHECKPOINTS_TABLE, _CHECKPOINT_COLUMNS, columns, token)

    # -- reading -------------------------------------------------------------

    def _rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return self.store.query_rows(sql, params, binary=("leaf_hashes", "state"))

    def latest_batch(self, tenant: str) -> LogBatch | None:
        """The batch that ends the stored log of ``tenant`` (None for an empty log)."""
        rows = self._rows(
            f"SELECT {_BATCH_SELECT} FROM {self._batches} WHERE tenant = {{t:String}} "
            "ORDER BY start DESC, count DESC LIMIT 1",
            t=tenant,
        )
        return _batch(rows[0]) if rows else None

    def has_batch(self, tenant: str, start: int) -> bool:
        """True if a batch starting at ``start`` is recorded for ``tenant``."""
        rows = self._rows(
            f"SELECT count() FROM {self._batches} "
            "WHERE tenant = {t:String} AND start = {s:UInt64}",
            t=tenant,
            s=start,
        )
        return bool(rows[0][0])

    def batches(self, tenant: str, start: int = 0, page: int = 2000) -> Iterator[LogBatch]:
        """Every recorded batch from position ``start`` on, in order (repeats included)."""
        after = (start, -1, -1)
        while True:
            rows = self._rows(
                f"SELECT {_BATCH_SELECT} FROM {self._batches} WHERE tenant = {{t:String}} "
                "AND (start, toInt64(count), toUnixTimestamp64Micro(written_at)) "
                "> ({s:UInt64}, {c:Int64}, {w:Int64}) "
                f"ORDER BY start, count, written_at LIMIT {int(page)}",
                t=tenant,
                s=after[0],
                c=after[1],
                w=after[2],
            )
            for row in rows:
                yield _batch(row)
            if len(rows) < page:
                return
            last = _batch(rows[-1])
            after = (last.start, last.count, last.written_at_us)

    def leaf_hashes(self, tenant: str, lo: int, hi: int) -> list[bytes]:
        """Recorded leaf hashes of positions ``[lo, hi)`` (shorter if the record has a gap)."""
        first = self._rows(
            f"SELECT max(start) FROM {self._batches} "
            "WHERE tenant = {t:String} AND start <= {lo:UInt64}",
            t=tenant,
            lo=lo,
        )
        out: list[bytes] = []
        for batch in self.batches(tenant, int(first[0][0] or 0) if first else 0):
            nxt = lo + len(out)
            if batch.start >= hi or batch.start > nxt:
                break
            out.extend(batch.leaf_hash(p) for p in range(nxt, min(batch.end, hi)))
        return out

    def checkpoints(self, tenant: str) -> list[StoredCheckpoint]:
        """Every stored checkpoint of ``tenant``, by size."""
        rows = self._rows(
            f"SELECT tenant, size, note FROM {self._checkpoints} WHERE tenant = {{t:String}} "
            "ORDER BY size, signed_at",
            t=tenant,
        )
        return [StoredCheckpoint(str(t), int(size), str(note)) for t, size, note in rows]

    def latest_checkpoint(
        self, tenant: str, max_size: int | None = None
    ) -> StoredCheckpoint | None:
        """The largest stored checkpoint (at most ``max_size``), or None."""
        bound = "" if max_size is None else "AND size <= {m:UInt64} "
        params: dict[str, Any] = {"t": tenant} if max_size is None else {"t": tenant, "m": max_size}
        rows = self._rows(
            f"SELECT tenant, size, note FROM {self._checkpoints} WHERE tenant = {{t:String}} "
            f"{bound}ORDER BY size DESC, signed_at DESC LIMIT 1",
            **params,
        )
        return StoredCheckpoint(str(rows[0][0]), int(rows[0][1]), str(rows[0][2])) if rows else None

    def events_at(self, tenant: str, lo: int, hi: int) -> list[tuple[int, AuditEvent]]:
        """Stored rows at positions ``[lo, hi)``, in position order (repeats included)."""
        rows = self._rows(
            f"SELECT log_index, {SELECT_COLUMNS} FROM {self._events} "
            "WHERE tenant = {t:String} AND log_index >= {lo:UInt64} AND log_index < {hi:UInt64} "
            "ORDER BY log_index, seq",
            t=tenant,
            lo=lo,
            hi=hi,
        )
        return [(int(row[0]), event_from_row(row[1:])) for row in rows]

    def rows_from(self, tenant: str, position: int) -> int:
        """How many rows of ``tenant`` sit at ``position`` or after."""
        rows = self._rows(
            f"SELECT count() FROM {self._events} "
            "WHERE tenant = {t:String} AND log_index >= {p:UInt64}",
            t=tenant,
            p=position,
        )
        return int(rows[0][0])

    def position_of(self, tenant: str, key: str) -> int | None:
        """The log position of the event with idempotency key ``key``, if stored."""
        rows = self._rows(
            f"SELECT log_index FROM {self._events} "
            "WHERE tenant = {t:String} AND idempotency_key = {k:String} LIMIT 1",
            t=tenant,
            k=key,
        )
        return int(rows[0][0]) if rows else None

    def keys_before(self, tenant: str, keys: Sequence[str], position: int) -> set[str]:
        """Which of ``keys`` are stored at a position below ``position``."""
        if not keys:
            return set()
        rows = self._rows(
            f"SELECT idempotency_key FROM {self._events} WHERE tenant = {{t:String}} "
            "AND idempotency_key IN {k:Array(String)} AND log_index < {p:UInt64}",
            t=tenant,
            k=list(keys),
            p=position,
        )
        return {str(row[0]) for row in rows}

    def tenants(self) -> list[str]:
        """Every tenant that has a log."""
        rows = self._rows(f"SELECT DISTINCT tenant FROM {self._batches} ORDER BY tenant")
        return [str(row[0]) for row in rows]


def _batch(row: Sequence[Any]) -> LogBatch:
    tenant, start, _count, hashes, state, expires, written = row
    return LogBatch(
        str(tenant), int(start), bytes(hashes), bytes(state), int(expires), int(written)
    )
