"""Building :class:`AuditEvent` messages from ``log()`` arguments."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from auditpipe_common.errors import EventError
from auditpipe_common.eventjson import dumps_attributes, outcome_from_name
from auditpipe_common.schema import AuditEvent
from auditpipe_common.timeutil import TimestampError, from_datetime, now_us

SDK_NAME = "auditpipe-python"
SDK_VERSION = "0.1.0"


def uuid7() -> str:
    """A random UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then 74 random bits."""
    value = (time.time_ns() // 1_000_000) << 80
    rand = int.from_bytes(os.urandom(10), "big")
    value |= (0x7 << 76) | ((rand >> 62) & 0x0FFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def _fill(msg: Any, values: Mapping[str, str] | None, group: str) -> None:
    for name, value in (values or {}).items():
        if not hasattr(msg, name):
            raise ValueError(f"{group} has no field {name!r}")
        setattr(msg, name, value)


def build_event(
    action: str,
    *,
    actor: Mapping[str, str] | str,
    resource: Mapping[str, str] | None = None,
    outcome: str = "success",
    event: str = "",
    occurred_at: datetime | int | None = None,
    attributes: Mapping[str, Any] | None = None,
    request_id: str = "",
    trace_id: str = "",
    idempotency_key: str | None = None,
    tenant: str = "",
    source: Mapping[str, str] | None = None,
) -> AuditEvent:
    """Build one event; raises ValueError for arguments that can never be valid."""
    if not action:
        raise ValueError("action is required")
    try:
        outcome_value = outcome_from_name(outcome)
    except EventError as exc:
        raise ValueError(str(exc)) from None
    ev = AuditEvent(
        idempotency_key=idempotency_key or uuid7(),
        tenant=tenant,
        event=event or action,
        action=action,
        request_id=request_id,
        trace_id=trace_id,
        outcome=outcome_value,  # type: ignore[arg-type]
    )
    if isinstance(occurred_at, datetime):
        try:
            ev.occurred_at = from_datetime(occurred_at)
        except TimestampError as exc:
            raise ValueError(str(exc)) from None
    else:
        ev.occurred_at = now_us() if occurred_at is None else occurred_at
    _fill(ev.actor, {"id": actor} if isinstance(actor, str) else actor, "actor")
    if not ev.actor.id:
        raise ValueError("actor id is required")
    _fill(ev.resource, resource, "resource")
    _fill(ev.source, source, "source")
    ev.source.sdk_name, ev.source.sdk_version = SDK_NAME, SDK_VERSION
    if attributes:
        ev.attributes = dumps_attributes(dict(attributes))
    return ev
