"""What a replay mapper produces: a record ready for ``AuditClient.log``, or a reason."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from auditpipe_common.timeutil import TimestampError, check_range, format_rfc3339
from auditpipe_common.validation import Limits

OUTCOMES = frozenset({"success", "failure", "denied", "unknown"})
LIMITS = Limits()
# Bytes kept free under ``max_event_bytes`` for what the sender adds to each
# event (tenant, seq, sdk name and version).
SIZE_RESERVE = 512

_SURROGATE = re.compile("[\ud800-\udfff]")
_GROUPS = ("actor", "resource", "source")


@dataclass
class Record:
    """One source record mapped onto the AuditEvent fields."""

    idempotency_key: str
    occurred_at_us: int
    action: str
    actor: dict[str, str]
    event: str = ""
    outcome: str = "unknown"  # success | failure | denied | unknown
    resource: dict[str, str] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    request_id: str = ""
    trace_id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    location: str = ""  # file:line or file#index, for reports

    def to_json(self) -> dict[str, Any]:
        """The event in auditpipe's JSON form (as ``POST /v1/events`` takes it)."""
        return {
            "idempotency_key": self.idempotency_key,
            "occurred_at": format_rfc3339(self.occurred_at_us),
            "event": self.event,
            "action": self.action,
            "outcome": self.outcome,
            "actor": self.actor,
            "resource": self.resource,
            "source": self.source,
            "request_id": self.request_id,
            "trace_id": self.trace_id,
            "attributes": self.attributes,
        }


@dataclass
class Unmappable:
    """A source record that could not be mapped, and why. Never dropped silently."""

    location: str
    reason: str


class DuplicateKeyDict(dict[str, Any]):
    """A parsed JSON object in which a key occurred more than once.

    :func:`json.loads` keeps only the last value of a repeated key; the JSON
    readers build this type instead so that :func:`check_record` can report
    the record rather than store it with a value silently lost.
    """

    duplicates: list[str]


def deterministic_uuid7(unix_ms: int, *identity: str) -> str:
    """A UUIDv7-shaped key whose random bits come from ``identity``.

    Replaying the same record always yields the same key (so a second replay
    stores nothing twice), and keys still sort by the record's time like
    UUIDv7s do.
    """
    digest = hashlib.sha256("\x1f".join(identity).encode()).digest()
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(digest[:2], "big") & 0x0FFF) << 64
    rand = int.from_bytes(digest[2:10], "big") & ((1 << 62) - 1)
    value |= (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, lone surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    if _SURROGATE.search(value):
        return "contains a lone surrogate (invalid UTF-8 or a bad \\u escape)"
    return None


def check_record(record: Record) -> Record | Unmappable:
    """Return ``record`` if ingest would accept it, else an Unmappable saying why.

    The checks mirror ``auditpipe_common.validation``: required fields, the
    outcome word, the time range, no NUL or lone surrogate anywhere, top-level
    strings at most ``max_string_chars`` long, attribute nesting at most
    ``max_attribute_depth`` and the whole encoded event below
    ``max_event_bytes`` (minus :data:`SIZE_RESERVE`). Nothing is truncated or
    replaced: a value that does not fit makes the record unmappable.
    """
    reason = _field_problem(record) or _attribute_problem(record.attributes)
    if reason is None:
        reason = _size_problem(record)
    if reason is not None:
        return Unmappable(record.location, reason)
    return record


def _field_problem(record: Record) -> str | None:
    if not record.action:
        return "action: empty"
    if not record.actor.get("id"):
        return "actor.id: empty"
    if record.outcome not in OUTCOMES:
        return f"outcome: unknown value {record.outcome!r}"
    try:
        check_range(record.occurred_at_us)
    except TimestampError as exc:
        return f"occurred_at: {exc}"
    for name, value in _top_level_strings(record):
        problem = text_problem(value)
        if problem is None and len(value) > LIMITS.max_string_chars:
            problem = f"{len(value)} characters, limit {LIMITS.max_string_chars}"
        if problem is not None:
            return f"{name}: {problem}"
    return None


def _top_level_strings(record: Record) -> list[tuple[str, str]]:
    out = [
        ("idempotency_key", record.idempotency_key),
        ("event", record.event),
        ("action", record.action),
        ("request_id", record.request_id),
        ("trace_id", record.trace_id),
    ]
    for group in _GROUPS:
        values: dict[str, str] = getattr(record, group)
        out.extend((f"{group}.{key}", value) for key, value in values.items())
    return out


def _attribute_problem(attributes: dict[str, Any]) -> str | None:
    """Walk the attributes without recursion: text, numbers, keys and depth."""
    stack: list[tuple[Any, str, int]] = [(attributes, "attributes", 1)]
    while stack:
        value, path, depth = stack.pop()
        problem = _value_problem(value, depth)
        if problem is not None:
            return f"{path}: {problem}"
        if isinstance(value, dict):
            for key, item in value.items():
                key_problem = text_problem(key) if isinstance(key, str) else "non-text key"
                if key_problem is not None:
                    return f"{path}: key {key!r}: {key_problem}"
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
    return None


def _value_problem(value: Any, depth: int) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"non-finite number {value!r} (not valid JSON)"
    if isinstance(value, DuplicateKeyDict):
        return f"duplicate key {value.duplicates[0]!r} (a value would be lost)"
    if isinstance(value, (dict, list)) and depth > LIMITS.max_attribute_depth:
        return f"nested deeper than {LIMITS.max_attribute_depth} levels"
    return None


def _size_problem(record: Record) -> str | None:
    size = len(json.dumps(record.to_json(), ensure_ascii=False).encode())
    limit = LIMITS.max_event_bytes - SIZE_RESERVE
    if size > limit:
        return f"record too large: {size} bytes encoded, limit {limit}"
    return None
