"""The ClickHouse store (chDB embedded or a server), shared by worker and query."""

from auditpipe_common.store.client import Store, open_store
from auditpipe_common.store.filters import EventFilter
from auditpipe_common.store.rows import COLUMNS, EventColumns

__all__ = ["COLUMNS", "EventColumns", "EventFilter", "Store", "open_store"]
