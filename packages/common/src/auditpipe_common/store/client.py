"""One client API for chDB (embedded) and a ClickHouse server: clickhouse-connect.

``chdb://PATH`` opens ClickHouse in this process (only one process may open a
path); ``http(s)://`` talks to a server. Calls are serialised by a lock: the
embedded engine is shared by every thread of the process, and a worker and a
query API may live in the same process in the local stack.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from auditpipe_common.errors import PermanentError, TransientError
from auditpipe_common.schema import AuditEvent
from auditpipe_common.settings import StoreSettings
from auditpipe_common.store import ddl
from auditpipe_common.store.filters import EventFilter
from auditpipe_common.store.rows import COLUMNS, SELECT_COLUMNS, EventColumns, event_from_row

T = TypeVar("T")

# ClickHouse error codes that mean "try again later" rather than "bad input".
_TRANSIENT_CODES = {
    159,  # TIMEOUT_EXCEEDED
    164,  # READONLY
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    252,  # TOO_MANY_PARTS
    425,  # SYSTEM_ERROR
}
_CODE = re.compile(r"Code: (\d+)")


def classify(exc: Exception) -> Exception:
    """Wrap a clickhouse-connect error as TransientError or PermanentError."""
    if isinstance(exc, OperationalError):
        return TransientError(f"store unavailable: {exc}")
    m = _CODE.search(str(exc))
    if m and int(m.group(1)) in _TRANSIENT_CODES:
        return TransientError(f"store busy: {exc}")
    return PermanentError(f"store rejected the request: {exc}")


def dedup_token(keys: Sequence[tuple[str, str]]) -> str:
    """A deterministic insert-deduplication token for one block of rows."""
    h = hashlib.sha256()
    for tenant, key in keys:
        h.update(tenant.encode())
        h.update(b"\x00")
        h.update(key.encode())
        h.update(b"\x00")
    return h.hexdigest()


class Store:
    """The events store. Methods raise TransientError or PermanentError."""

    def __init__(self, client: Client, database: str) -> None:
        self._client = client
        self.database = database
        self._lock = threading.Lock()

    def _call(self, fn: Callable[[], T]) -> T:
        with self._lock:
            try:
                return fn()
            except ClickHouseError as exc:
                raise classify(exc) from exc

    @property
    def table(self) -> str:
        """Fully qualified events table name."""
        return f"{self.database}.{ddl.EVENTS_TABLE}"

    def ensure_schema(self) -> None:
        """Create the database and tables if they do not exist."""
        self._call(lambda: self._client.command(ddl.create_database(self.database)))
        for create in (ddl.create_events, ddl.create_log_batches, ddl.create_checkpoints):
            self._call(lambda c=create: self._client.command(c(self.database)))  # type: ignore[misc]
        for statement in ddl.migrations(self.database):
            self._call(lambda s=statement: self._client.command(s))  # type: ignore[misc]

    def existing_keys(self, tenant: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are already stored for ``tenant``."""
        if not keys:
            return set()
        sql = (
            f"SELECT idempotency_key FROM {self.table} "
            "WHERE tenant = {tenant:String} AND idempotency_key IN {keys:Array(String)}"
        )
        params = {"tenant": tenant, "keys": list(keys)}
        result = self._call(lambda: self._client.query(sql, parameters=params))
        return {row[0] for row in result.result_rows}

    def insert(self, rows: EventColumns) -> None:
        """Insert rows with a deduplication token derived from their keys."""
        if rows:
            self.insert_columns(ddl.EVENTS_TABLE, COLUMNS, rows.columns, dedup_token(rows.keys))

    def insert_columns(
        self, table: str, names: Sequence[str], columns: list[list[Any]], token: str
    ) -> None:
        """Insert one column-oriented block into ``table`` with a deduplication token."""
        self._call(
            lambda: self._client.insert(
                f"{self.database}.{table}",
                columns,
                column_names=list(names),
                column_oriented=True,
                settings={"insert_deduplication_token": token},
            )
        )

    def select(
        self, flt: EventFilter, *, after_seq: int | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Events matching ``flt`` in ``seq`` order, starting after ``after_seq``."""
        where, params = flt.where(after_seq)
        sql = (
            f"SELECT {SELECT_COLUMNS} FROM {self.table} WHERE {where} "
            f"ORDER BY seq LIMIT {int(limit)}"
        )
        result = self._call(lambda: self._client.query(sql, parameters=params))
        return [event_from_row(row) for row in result.result_rows]

    def scan(self, flt: EventFilter, *, page: int = 5000) -> Iterator[AuditEvent]:
        """All events matching ``flt`` in ``seq`` order, fetched page by page."""
        after: int | None = None
        while True:
            events = self.select(flt, after_seq=after, limit=page)
            yield from events
            if len(events) < page:
                return
            after = events[-1].seq

    def stats(self, flt: EventFilter) -> dict[str, int]:
        """Row count, distinct idempotency keys and the seq range of matching events."""
        where, params = flt.where()
        sql = (
            "SELECT count(), uniqExact(idempotency_key), min(seq), max(seq) "
            f"FROM {self.table} WHERE {where}"
        )
        rows = self._call(lambda: self._client.query(sql, parameters=params)).result_rows
        count, keys, lo, hi = rows[0] if rows else (0, 0, 0, 0)
        return {
            "count": int(count),
            "distinct_keys": int(keys),
            "min_seq": int(lo) if count else 0,
            "max_seq": int(hi) if count else 0,
        }

    def query_rows(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        binary: Sequence[str] = (),
    ) -> list[tuple[Any, ...]]:
        """Run a read-only query; the String columns named in ``binary`` come back as bytes."""
        formats: dict[str, str | dict[str, str]] = {name: "bytes" for name in binary}
        result = self._call(
            lambda: self._client.query(sql, parameters=params or {}, column_formats=formats)
        )
        return [tuple(r) for r in result.result_rows]

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run a statement that changes data or schema, waiting for mutations to finish."""
        settings = {"mutations_sync": 2}
        self._call(lambda: self._client.command(sql, parameters=params, settings=settings))

    def close(self) -> None:
        """Release the connection."""
        with self._lock:
            self._client.close()


def open_store(settings: StoreSettings) -> Store:
    """Open the store named by ``settings.store_dsn`` and ensure its schema."""
    dsn = settings.store_dsn.get_secret_value()
    try:
        client = clickhouse_connect.get_client(dsn=dsn)
    except ClickHouseError as exc:
        raise classify(exc) from exc
    store = Store(client, settings.store_database)
    store.ensure_schema()
    return store
