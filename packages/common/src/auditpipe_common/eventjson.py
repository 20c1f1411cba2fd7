"""The JSON form of :class:`AuditEvent`: snake_case names, RFC 3339 times.

Differences from the protobuf form, all deliberate:

* ``occurred_at`` / ``received_at`` are RFC 3339 text on output and RFC 3339
  text (with a zone) or integer microseconds on input;
* ``outcome`` is a lower-case word (``success``, ``failure``, ``denied``,
  ``unknown``);
* ``attributes`` is a JSON object, not the text of one; integers of any size
  are kept exactly because Python's ``json`` module keeps them as ``int``;
* ``seq`` may be given as an integer or as a decimal string.

Unknown fields are rejected rather than ignored, so a typo never silently
drops data; so is an object that names a key twice (:func:`object_pairs`
marks it while parsing, :func:`duplicate_key` finds it), which plain JSON
parsers resolve by silently keeping one of the values. A string that is not
valid Unicode (a lone surrogate escape such as ``"\\ud800"``, or bytes that
were not UTF-8 decoded with ``surrogateescape``) is ``invalid_utf8``.
"""

from __future__ import annotations

import json
from typing import Any

from auditpipe_common.errors import EventError
from auditpipe_common.schema import AuditEvent, Outcome
from auditpipe_common.timeutil import TimestampError, check_range, format_rfc3339, parse_rfc3339

OUTCOME_NAMES = {
    Outcome.OUTCOME_UNSPECIFIED: "",
    Outcome.OUTCOME_SUCCESS: "success",
    Outcome.OUTCOME_FAILURE: "failure",
    Outcome.OUTCOME_DENIED: "denied",
    Outcome.OUTCOME_UNKNOWN: "unknown",
}
OUTCOME_BY_NAME: dict[str, int] = {v: k for k, v in OUTCOME_NAMES.items()}

_TOP_STRINGS = ("idempotency_key", "tenant", "event", "action", "request_id", "trace_id")
_NESTED = {
    "actor": ("id", "type", "role", "ip", "user_agent"),
    "resource": ("type", "id", "name"),
    "source": ("service", "host", "sdk_name", "sdk_version"),
}
_KNOWN = {
    *_TOP_STRINGS,
    *_NESTED,
    "seq",
    "occurred_at",
    "received_at",
    "outcome",
    "attributes",
}


class DuplicateKeys(dict[str, Any]):
    """A parsed JSON object that named ``key`` more than once (the last value is kept)."""

    def __init__(self, pairs: list[tuple[str, Any]], key: str) -> None:
        super().__init__(pairs)
        self.key = key


def object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that marks objects with a repeated key."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    return DuplicateKeys(pairs, key)


def duplicate_key(value: Any) -> str | None:
    """The path (``actor.id``, ``attributes.a[2].b``) of a key that a value parsed
    with :func:`object_pairs` repeats, or None."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, DuplicateKeys):
            return f"{where}.{item.key}" if where else item.key
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else k) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return None


def _not_unicode(field: str, exc: UnicodeEncodeError) -> EventError:
    char = exc.object[exc.start]
    return EventError(
        "invalid_utf8",
        field,
        f"not valid UTF-8 text: lone surrogate U+{ord(char):04X} at character {exc.start} "
        "(a byte that is not UTF-8, or a \\u escape of half a surrogate pair)",
    )


def dumps_attributes(value: Any) -> str:
    """Serialise an attributes object the one way auditpipe always does."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def outcome_from_name(name: str) -> int:
    """Map ``success``/``OUTCOME_SUCCESS`` (any case) to the enum value."""
    key = name.strip().lower().removeprefix("outcome_")
    if key not in OUTCOME_BY_NAME or not key:
        raise EventError("unknown_enum", "outcome", f"unknown outcome {name[:40]!r}")
    return OUTCOME_BY_NAME[key]


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise EventError("wrong_type", field, f"must be a string, got {type(value).__name__}")
    return value


def _timestamp(value: Any, field: str) -> int:
    try:
        if isinstance(value, bool):
            raise EventError("wrong_type", field, "must be RFC 3339 text or integer microseconds")
        if isinstance(value, int):
            us = check_range(value)
        elif isinstance(value, str):
            us = parse_rfc3339(value)
        else:
            raise EventError("wrong_type", field, "must be RFC 3339 text or integer microseconds")
    except TimestampError as exc:
        raise EventError(exc.code, field, str(exc)) from None
    if us == 0:
        raise EventError(
            "timestamp_out_of_range",
            field,
            "1970-01-01T00:00:00Z is 0, which the wire format reads as 'not set'; "
            "the earliest time accepted is one microsecond later",
        )
    return us


def _set_string(msg: Any, name: str, value: Any, field: str) -> None:
    try:
        setattr(msg, name, _string(value, field))
    except UnicodeEncodeError as exc:
        raise _not_unicode(field, exc) from None


def _seq(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError("wrong_type", "seq", "must be a positive integer")
    if not 0 <= value < 2**64:
        raise EventError("out_of_range", "seq", "must fit in an unsigned 64-bit integer")
    return value


def event_from_json(obj: Any) -> AuditEvent:
    """Build an :class:`AuditEvent` from its JSON form, raising EventError."""
    if not isinstance(obj, dict):
        raise EventError("wrong_type", "", "each event must be a JSON object")
    unknown = sorted(set(obj) - _KNOWN)
    if unknown:
        raise EventError("unknown_field", unknown[0], "unknown field")
    ev = AuditEvent()
    for name in _TOP_STRINGS:
        if name in obj:
            _set_string(ev, name, obj[name], name)
    for group, names in _NESTED.items():
        if group not in obj:
            continue
        sub = obj[group]
        if not isinstance(sub, dict):
            raise EventError("wrong_type", group, "must be a JSON object")
        extra = sorted(set(sub) - set(names))
        if extra:
            raise EventError("unknown_field", f"{group}.{extra[0]}", "unknown field")
        msg = getattr(ev, group)
        for name in names:
            if name in sub:
                _set_string(msg, name, sub[name], f"{group}.{name}")
    if "seq" in obj:
        ev.seq = _seq(obj["seq"])
    if "occurred_at" in obj:
        ev.occurred_at = _timestamp(obj["occurred_at"], "occurred_at")
    if "outcome" in obj:
        ev.outcome = outcome_from_name(_string(obj["outcome"], "outcome"))  # type: ignore[assignment]
    if "attributes" in obj:
        attrs = obj["attributes"]
        if not isinstance(attrs, dict):
            raise EventError("wrong_type", "attributes", "must be a JSON object")
        try:
            ev.attributes = dumps_attributes(attrs)
        except UnicodeEncodeError as exc:
            raise _not_unicode("attributes", exc) from None
        except ValueError as exc:
            raise EventError("invalid_attributes", "attributes", str(exc)) from None
    return ev


def event_to_json(ev: AuditEvent) -> dict[str, Any]:
    """The JSON form of a stored event (all fields, attributes parsed)."""
    out: dict[str, Any] = {
        "tenant": ev.tenant,
        "seq": ev.seq,
        "idempotency_key": ev.idempotency_key,
        "occurred_at": format_rfc3339(ev.occurred_at),
        "received_at": format_rfc3339(ev.received_at),
        "event": ev.event,
        "action": ev.action,
        "outcome": OUTCOME_NAMES.get(ev.outcome, str(int(ev.outcome))),
    }
    for group, names in _NESTED.items():
        msg = getattr(ev, group)
        out[group] = {name: getattr(msg, name) for name in names}
    out["request_id"] = ev.request_id
    out["trace_id"] = ev.trace_id
    out["clock_skewed"] = ev.clock_skewed
    out["attributes"] = json.loads(ev.attributes) if ev.attributes else {}
    return out
