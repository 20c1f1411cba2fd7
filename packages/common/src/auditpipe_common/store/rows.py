"""Conversion between :class:`AuditEvent` and the columns of the events table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from auditpipe_common.eventjson import OUTCOME_BY_NAME, OUTCOME_NAMES
from auditpipe_common.schema import AuditEvent
from auditpipe_common.timeutil import MAX_US, MIN_US
from auditpipe_common.tlog.leaf import VALUE_FIELDS, event_values

# (column, field path in AuditEvent): the one mapping between table and message.
FIELDS: tuple[tuple[str, str], ...] = (
    ("tenant", "tenant"),
    ("seq", "seq"),
    ("idempotency_key", "idempotency_key"),
    ("occurred_at", "occurred_at"),
    ("received_at", "received_at"),
    ("event", "event"),
    ("action", "action"),
    ("outcome", "outcome"),
    ("actor_id", "actor.id"),
    ("actor_type", "actor.type"),
    ("actor_role", "actor.role"),
    ("actor_ip", "actor.ip"),
    ("actor_user_agent", "actor.user_agent"),
    ("resource_type", "resource.type"),
    ("resource_id", "resource.id"),
    ("resource_name", "resource.name"),
    ("source_service", "source.service"),
    ("source_host", "source.host"),
    ("source_sdk_name", "source.sdk_name"),
    ("source_sdk_version", "source.sdk_version"),
    ("request_id", "request_id"),
    ("trace_id", "trace_id"),
    ("attributes", "attributes"),
    ("clock_skewed", "clock_skewed"),
)
PATHS = tuple(path for _, path in FIELDS)
# The columns follow the canonical leaf order, so one fetch of the values serves both.
if PATHS != VALUE_FIELDS:
    raise RuntimeError("store.rows.FIELDS must follow the order of tlog.leaf.FIELDS")
COLUMNS: tuple[str, ...] = (*(column for column, _ in FIELDS), "retention_days", "log_index")
_OUTCOME = PATHS.index("outcome")
_TIMES = {"occurred_at", "received_at"}

SELECT_COLUMNS = ", ".join(
    f"toUnixTimestamp64Micro({column})" if column in _TIMES else column for column, _ in FIELDS
)


class EventColumns:
    """Column-oriented rows ready for one insert."""

    def __init__(self) -> None:
        self.columns: list[list[Any]] = [[] for _ in COLUMNS]
        self.keys: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.keys)

    def append(self, ev: AuditEvent, retention_days: int, log_index: int = 0) -> None:
        """Add one event as a row (at ``log_index`` in its tenant's log)."""
        self.append_values(event_values(ev), retention_days, log_index)

    def append_values(self, values: Sequence[Any], retention_days: int, log_index: int = 0) -> None:
        """Add one event given as ``event_values(ev)``."""
        row = [*values, retention_days, log_index]
        row[_OUTCOME] = OUTCOME_NAMES.get(row[_OUTCOME], "")
        for column, value in zip(self.columns, row, strict=True):
            column.append(value)
        self.keys.append((values[0], values[2]))

    def extend(self, events: Iterable[AuditEvent], retention_days: int) -> None:
        """Add many events."""
        for ev in events:
            self.append(ev, retention_days)


def event_from_row(row: Sequence[Any]) -> AuditEvent:
    """Rebuild an event from a row selected with ``SELECT_COLUMNS``."""
    ev = AuditEvent()
    for path, value in zip(PATHS, row, strict=True):
        if path == "outcome":
            value = OUTCOME_BY_NAME.get(value, 0)
        group, _, name = path.rpartition(".")
        if not group:
            setattr(ev, name, value)
        elif value:  # leave empty sub-messages absent, as the client sent them
            setattr(getattr(ev, group), name, value)
    return ev


def constraint_violation(ev: AuditEvent) -> str | None:
    """Why the events table would refuse ``ev`` (its CHECK constraints and column ranges).

    The worker asks before giving an event a log position, so a row the store
    must refuse never takes a place in a tenant's log.
    """
    if ev.seq <= 0:
        return "violates constraint seq_positive: seq must be > 0"
    if not ev.idempotency_key:
        return "violates constraint key_present: idempotency_key is empty"
    for name in ("occurred_at", "received_at"):
        value = getattr(ev, name)
        if not MIN_US <= value <= MAX_US:
            return f"{name} {value} is outside what DateTime64(6) stores (1970 to 2299)"
    return None
