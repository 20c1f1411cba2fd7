"""Fault injection for the fault-matrix tests. Never enabled in production.

These hooks reproduce failures that cannot be caused from outside on this
machine: the embedded store lives inside the worker's own process, so it
cannot be taken down or made read-only independently of it. Each is switched
on by a clearly named ``AUDITPIPE_FAULT_*`` setting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from auditpipe_common.store import EventColumns, Store
from auditpipe_common.store.client import classify

StoreFault = Literal["unavailable", "read-only"]

# The errors a ClickHouse server gives in each case, classified as the store
# client classifies real ones.
_ERRORS: dict[StoreFault, str] = {
    "unavailable": "Code: 210. DB::NetException: Connection refused (injected fault)",
    "read-only": "Code: 242. DB::Exception: Table is in readonly mode (injected fault)",
}


class UnavailableStore:
    """A store whose writes and reads fail for ``seconds`` after it is created."""

    def __init__(self, store: Store, seconds: float, fault: StoreFault = "unavailable") -> None:
        self._store = store
        self._until = time.monotonic() + seconds
        self._error = _ERRORS[fault]

    def _check(self) -> None:
        if time.monotonic() < self._until:
            raise classify(RuntimeError(self._error))

    def existing_keys(self, tenant: str, keys: Sequence[str]) -> set[str]:
        """As :meth:`Store.existing_keys`, failing while the fault lasts."""
        self._check()
        return self._store.existing_keys(tenant, keys)

    def insert(self, rows: EventColumns) -> None:
        """As :meth:`Store.insert`, failing while the fault lasts."""
        self._check()
        self._store.insert(rows)

    @property
    def database(self) -> str:
        """The wrapped store's database."""
        return self._store.database

    @property
    def table(self) -> str:
        """The wrapped store's events table."""
        return self._store.table

    def query_rows(
        self, sql: str, params: dict[str, Any] | None = None, binary: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """As :meth:`Store.query_rows`, failing while the fault lasts."""
        self._check()
        return self._store.query_rows(sql, params, binary)

    def insert_columns(
        self, table: str, names: Sequence[str], columns: list[list[Any]], token: str
    ) -> None:
        """As :meth:`Store.insert_columns`, failing while the fault lasts."""
        self._check()
        self._store.insert_columns(table, names, columns, token)
