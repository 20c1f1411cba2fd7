"""Validation of one audit event against the contract and the configured limits.

Every rejection is an :class:`EventError` with a stable ``code`` (documented
in docs/api.md), the offending ``field`` and a human-readable ``reason``.
Validation never changes the event except to fill the tenant from the API key.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from auditpipe_common.errors import EventError
from auditpipe_common.schema import AuditEvent, Outcome
from auditpipe_common.timeutil import TimestampError, check_range

_STRING_FIELDS = (
    ("idempotency_key",),
    ("tenant",),
    ("event",),
    ("action",),
    ("request_id",),
    ("trace_id",),
    ("actor", "id"),
    ("actor", "type"),
    ("actor", "role"),
    ("actor", "ip"),
    ("actor", "user_agent"),
    ("resource", "type"),
    ("resource", "id"),
    ("resource", "name"),
    ("source", "service"),
    ("source", "host"),
    ("source", "sdk_name"),
    ("source", "sdk_version"),
)
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_STRINGS_IN_JSON = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


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


def json_depth(text: str) -> int:
    """Maximum nesting depth of JSON text (strings are ignored)."""
    depth = best = 0
    for m in _BRACKETS.finditer(_STRINGS_IN_JSON.sub("", text)):
        depth += 1 if m.group() in "[{" else -1
        best = max(best, depth)
    return best


def _check_strings(ev: AuditEvent, limits: Limits) -> None:
    for path in _STRING_FIELDS:
        msg = ev
        for part in path[:-1]:
            msg = getattr(msg, part)
        value: str = getattr(msg, path[-1])
        name = ".".join(path)
        if "\x00" in value:
            raise EventError("nul_byte", name, "contains a NUL character")
        if len(value) > limits.max_string_chars:
            raise EventError(
                "too_long", name, f"{len(value)} characters, limit {limits.max_string_chars}"
            )


def _check_attributes(text: str, limits: Limits) -> None:
    if not text:
        return
    if "\\u0000" in text:
        raise EventError("nul_byte", "attributes", "contains an escaped NUL character")
    depth = json_depth(text)
    if depth > limits.max_attribute_depth:
        raise EventError(
            "too_deep", "attributes", f"nesting depth {depth}, limit {limits.max_attribute_depth}"
        )
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise EventError("invalid_attributes", "attributes", f"not JSON: {exc}") from None
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
