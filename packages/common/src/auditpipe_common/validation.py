"""Validation of one audit event against the contract and the configured limits.

Every rejection is an :class:`EventError` with a stable ``code`` (documented
in docs/api.md), the offending ``field`` and a human-readable ``reason``.
Validation never changes the event except to fill the tenant from the API key.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from auditpipe_common.errors import EventError
from auditpipe_common.schema import AuditEvent, Outcome
from auditpipe_common.timeutil import TimestampError, check_range

STRING_FIELD_NAMES = (
    "idempotency_key",
    "tenant",
    "event",
    "action",
    "request_id",
    "trace_id",
    "actor.id",
    "actor.type",
    "actor.role",
    "actor.ip",
    "actor.user_agent",
    "resource.type",
    "resource.id",
    "resource.name",
    "source.service",
    "source.host",
    "source.sdk_name",
    "source.sdk_version",
)
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
# A \u0000 escape: not itself escaped, i.e. after an even number of backslashes.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True)
class Limits:
    """Size limits enforced by ingest (all configurable)."""

    max_event_bytes: int = 64 * 1024
    max_batch_bytes: int = 8 * 1024 * 1024
    max_batch_events: int = 2000
    max_string_chars: int = 4096
    max_attribute_depth: int = 32


def valid_tenant(name: str) -> bool:
    """Tenants are lower-case slugs: ``[a-z0-9][a-z0-9_.-]{0,62}``."""
    return bool(_TENANT.match(name))


def container_depth(value: object, limit: int) -> int:
    """Nesting depth of a parsed JSON value, counting stops once past ``limit``."""
    best = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        best = max(best, depth)
        if best > limit:
            return best
        stack.extend((child, depth + 1) for child in children)
    return best


def _string_fields(ev: AuditEvent) -> tuple[str, ...]:
    a, r, s = ev.actor, ev.resource, ev.source
    return (
        ev.idempotency_key,
        ev.tenant,
        ev.event,
        ev.action,
        ev.request_id,
        ev.trace_id,
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
    )


def _check_strings(ev: AuditEvent, limits: Limits) -> None:
    values = _string_fields(ev)
    if "\x00" not in "".join(values) and max(map(len, values)) <= limits.max_string_chars:
        return  # the common case, checked in one pass; below only to name the field
    for name, value in zip(STRING_FIELD_NAMES, values, strict=True):
        if "\x00" in value:
            raise EventError("nul_byte", name, "contains a NUL character")
        if len(value) > limits.max_string_chars:
            raise EventError(
                "too_long", name, f"{len(value)} characters, limit {limits.max_string_chars}"
            )


def _check_attributes(text: str, limits: Limits) -> None:
    if not text:
        return
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise EventError("nul_byte", "attributes", "contains an escaped NUL character")
    try:
        value = json.loads(text)
    except RecursionError:
        value = None  # deeper than Python's parser goes: certainly too deep
        depth = limits.max_attribute_depth + 1
    except ValueError as exc:
        raise EventError("invalid_attributes", "attributes", f"not JSON: {exc}") from None
    else:
        # Each level needs an opening bracket: few brackets means no need to walk.
        brackets = text.count("{") + text.count("[")
        depth = (
            brackets
            if brackets <= limits.max_attribute_depth
            else container_depth(value, limits.max_attribute_depth)
        )
    if depth > limits.max_attribute_depth:
        raise EventError(
            "too_deep", "attributes", f"nesting depth over the limit {limits.max_attribute_depth}"
        )
    if not isinstance(value, dict):
        raise EventError("invalid_attributes", "attributes", "must be a JSON object")


def validate_event(ev: AuditEvent, key_tenant: str, limits: Limits, encoded_size: int) -> None:
    """Check one event; fill ``tenant`` from the API key; raise EventError if invalid."""
    if encoded_size > limits.max_event_bytes:
        raise EventError(
            "event_too_large", "", f"{encoded_size} bytes, limit {limits.max_event_bytes}"
        )
    if not ev.tenant:
        ev.tenant = key_tenant
    elif ev.tenant != key_tenant:
        raise EventError("tenant_forbidden", "tenant", "API key is not valid for this tenant")
    if not ev.idempotency_key:
        raise EventError("missing_field", "idempotency_key", "required")
    try:
        uuid.UUID(ev.idempotency_key)
    except ValueError:
        raise EventError("invalid_uuid", "idempotency_key", "must be a UUID") from None
    if ev.seq == 0:
        raise EventError("missing_field", "seq", "required (> 0); get one from the sequencer")
    if ev.occurred_at == 0:
        raise EventError("missing_field", "occurred_at", "required")
    try:
        check_range(ev.occurred_at)
    except TimestampError as exc:
        raise EventError(exc.code, "occurred_at", str(exc)) from None
    if not ev.action:
        raise EventError("missing_field", "action", "required")
    if not ev.actor.id:
        raise EventError("missing_field", "actor.id", "required")
    if ev.outcome not in Outcome.values():
        raise EventError("unknown_enum", "outcome", f"unknown outcome value {int(ev.outcome)}")
    _check_strings(ev, limits)
    _check_attributes(ev.attributes, limits)
