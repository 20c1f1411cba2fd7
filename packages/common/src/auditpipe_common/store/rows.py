"""Conversion between :class:`AuditEvent` and the columns of the events table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from auditpipe_common.eventjson import OUTCOME_BY_NAME, OUTCOME_NAMES
from auditpipe_common.schema import AuditEvent

COLUMNS: tuple[str, ...] = (
    "tenant",
    "seq",
    "idempotency_key",
    "occurred_at",
    "received_at",
    "event",
    "action",
    "outcome",
    "actor_id",
    "actor_type",
    "actor_role",
    "actor_ip",
    "actor_user_agent",
    "resource_type",
    "resource_id",
    "resource_name",
    "source_service",
    "source_host",
    "source_sdk_name",
    "source_sdk_version",
    "request_id",
    "trace_id",
    "attributes",
    "retention_days",
)

SELECT_COLUMNS = ", ".join(
    "toUnixTimestamp64Micro(occurred_at)"
    if c == "occurred_at"
    else "toUnixTimestamp64Micro(received_at)"
    if c == "received_at"
    else c
    for c in COLUMNS
    if c != "retention_days"
)


class EventColumns:
    """Column-oriented rows ready for one insert."""

    def __init__(self) -> None:
        self.columns: list[list[Any]] = [[] for _ in COLUMNS]
        self.keys: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.keys)

    def append(self, ev: AuditEvent, retention_days: int) -> None:
        """Add one event as a row."""
        a, r, s = ev.actor, ev.resource, ev.source
        values = (
            ev.tenant,
            ev.seq,
            ev.idempotency_key,
            ev.occurred_at,
            ev.received_at,
            ev.event,
            ev.action,
            OUTCOME_NAMES.get(ev.outcome, ""),
            a.id,
            a.type,
            a.role,
            a.ip,
            a.user_agent,
            r.type,
            r.id,
            r.name,
            s.service,
            s.host,
            s.sdk_name,
            s.sdk_version,
            ev.request_id,
            ev.trace_id,
            ev.attributes,
            retention_days,
        )
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)
        self.keys.append((ev.tenant, ev.idempotency_key))

    def extend(self, events: Iterable[AuditEvent], retention_days: int) -> None:
        """Add many events."""
        for ev in events:
            self.append(ev, retention_days)


def event_from_row(row: Sequence[Any]) -> AuditEvent:
    """Rebuild an event from a row selected with ``SELECT_COLUMNS``."""
    (
        tenant,
        seq,
        key,
        occurred,
        received,
        event,
        action,
        outcome,
        actor_id,
        actor_type,
        actor_role,
        actor_ip,
        actor_ua,
        res_type,
        res_id,
        res_name,
        src_service,
        src_host,
        src_sdk,
        src_sdk_version,
        request_id,
        trace_id,
        attributes,
    ) = row
    ev = AuditEvent(
        tenant=tenant,
        seq=seq,
        idempotency_key=key,
        occurred_at=occurred,
        received_at=received,
        event=event,
        action=action,
        outcome=OUTCOME_BY_NAME.get(outcome, 0),  # type: ignore[arg-type]
        request_id=request_id,
        trace_id=trace_id,
        attributes=attributes,
    )
    ev.actor.id, ev.actor.type, ev.actor.role = actor_id, actor_type, actor_role
    ev.actor.ip, ev.actor.user_agent = actor_ip, actor_ua
    ev.resource.type, ev.resource.id, ev.resource.name = res_type, res_id, res_name
    ev.source.service, ev.source.host = src_service, src_host
    ev.source.sdk_name, ev.source.sdk_version = src_sdk, src_sdk_version
    return ev
