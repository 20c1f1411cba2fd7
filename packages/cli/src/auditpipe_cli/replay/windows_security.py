"""Windows Security event log as JSON lines (NXLog ``im_msvistalog`` via Logstash).

Plain or gzip-compressed, one event per line; see docs/replay-formats.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditpipe_cli.replay.model import Record, Unmappable, check_record, deterministic_uuid7
from auditpipe_cli.replay.sources import (
    SourceError,
    list_files,
    loads_exact,
    open_binary,
    text_field,
)
from auditpipe_common.timeutil import TimestampError, parse_rfc3339

FORMAT = "windows-security-jsonl"
SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
NO_VALUE = frozenset({"", "-"})  # "None" is a real name (a group), not a placeholder
NULL_SID = "S-1-0-0"
ZONE_STEP_US = 15 * 60 * 1_000_000
MAX_COLLECTOR_LAG_US = 60 * 1_000_000
# Logon/logoff (and 4627, the group list of a new logon): the Target is the
# account that logged on or off; the Subject only processed the request.
LOGON_EVENTS = frozenset({4624, 4625, 4627, 4634, 4647})
# Failed audits of these access checks mean "access denied" rather than "failed".
ACCESS_CHECKS = frozenset({4656, 4661, 4663, 4673, 4674, 5145})
# (field naming the resource, resource type or None to use ObjectType, field with its id)
_RESOURCE_FIELDS: tuple[tuple[str, str | None, str], ...] = (
    ("ObjectName", None, ""),
    ("NewProcessName", "process", ""),
    ("TargetUserName", "account", ""),  # the Target account, see _target_account
    ("ShareName", "share", ""),
    ("ServiceName", "service", "ServiceSid"),
    ("TaskName", "scheduled-task", ""),
    ("FilterName", "wfp-filter", "FilterId"),
    ("RuleName", "firewall-rule", "RuleId"),
)


def read_windows_security(path: Path) -> Iterator[Record | Unmappable]:
    """Map every event line in ``path`` (a .jsonl[.gz] file or a directory of them).

    A line that is not valid UTF-8 or JSON, or not a JSON object, yields an
    Unmappable; a broken gzip stream ends its file with one. Blank lines are
    not records and are skipped.
    """
    for file, name in list_files(path, SUFFIXES):
        yield from _read_file(file, name)


def _read_file(file: Path, name: str) -> Iterator[Record | Unmappable]:
    lineno = 0
    try:
        with open_binary(file) as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.strip():
                    yield _map_line(line, f"{name}:{lineno}")
    except (OSError, EOFError, zlib.error) as exc:
        yield Unmappable(f"{name}:{lineno + 1}", f"cannot read the rest of the file: {exc}")


def _map_line(line: bytes, location: str) -> Record | Unmappable:
    try:
        raw = loads_exact(line)
    except SourceError as exc:
        return Unmappable(location, str(exc))
    return map_event(raw, location)


def map_event(raw: Any, location: str) -> Record | Unmappable:
    """Map one parsed Windows event; ``location`` names it in reports."""
    if not isinstance(raw, dict):
        return Unmappable(location, "line is not a JSON object")
    event_id = raw.get("EventID")
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        return Unmappable(location, "EventID missing or not an integer")
    occurred = event_time_utc(raw)
    if isinstance(occurred, str):
        return Unmappable(location, occurred)
    actor, actor_is_target = _actor(raw, event_id)
    record = Record(
        idempotency_key=deterministic_uuid7(occurred // 1000, FORMAT, *_identity(raw, location)),
        occurred_at_us=occurred,
        action=_action(raw, event_id),
        actor=actor,
        event=_event_name(raw),
        outcome=_outcome(raw, event_id),
        resource=_resource(raw, actor_is_target),
        source={"service": text_field(raw, "SourceName"), "host": text_field(raw, "Hostname")},
        trace_id=text_field(raw, "ActivityID"),
        attributes={"dataset_format": FORMAT, "record": raw},
        location=location,
    )
    return check_record(record)


def event_time_utc(raw: dict[str, Any]) -> int | str:
    """``EventTime`` (zone-less local time) as epoch µs UTC, or why it cannot be.

    The collector's UTC offset is read off the record itself: ``EventReceivedTime``
    (local, whole seconds) and ``@timestamp`` (UTC) are the same instant on two
    clocks, so their difference, rounded to 15 minutes, is the zone offset.
    """
    try:
        local = parse_rfc3339(text_field(raw, "EventTime"), assume_utc=True)
        received_local = parse_rfc3339(text_field(raw, "EventReceivedTime"), assume_utc=True)
        received_utc = parse_rfc3339(text_field(raw, "@timestamp"))
    except TimestampError as exc:
        return f"EventTime, EventReceivedTime or @timestamp: {exc}"
    shift = received_local - received_utc
    offset = (shift + ZONE_STEP_US // 2) // ZONE_STEP_US * ZONE_STEP_US
    if abs(shift - offset) > MAX_COLLECTOR_LAG_US:
        return "EventReceivedTime and @timestamp disagree: cannot tell EventTime's zone"
    return local - offset


def _identity(raw: dict[str, Any], location: str) -> tuple[str, ...]:
    host, channel = text_field(raw, "Hostname"), text_field(raw, "Channel")
    number = raw.get("RecordNumber")
    if host and channel and isinstance(number, int) and not isinstance(number, bool):
        return (host, channel, str(number))
    return ("no-record-number", location)


def _action(raw: dict[str, Any], event_id: int) -> str:
    category = text_field(raw, "Category")
    return f"{event_id}:{category}" if category else str(event_id)


def _event_name(raw: dict[str, Any]) -> str:
    message = text_field(raw, "Message").strip()
    return message.splitlines()[0].strip() if message else text_field(raw, "Category")


def _outcome(raw: dict[str, Any], event_id: int) -> str:
    kind = text_field(raw, "EventType")
    if kind == "AUDIT_SUCCESS":
        return "success"
    if kind == "AUDIT_FAILURE":
        return "denied" if event_id in ACCESS_CHECKS else "failure"
    return "unknown"


def _value(raw: dict[str, Any], key: str) -> str:
    value = text_field(raw, key)
    return "" if value in NO_VALUE or value == NULL_SID else value


def _account(raw: dict[str, Any], prefix: str, sid_keys: tuple[str, ...]) -> tuple[str, str]:
    """(DOMAIN\\name or name, SID) of the Subject/Target account; ``""`` when absent."""
    name, domain = _value(raw, f"{prefix}UserName"), _value(raw, f"{prefix}DomainName")
    if name and domain and "\\" not in name and "@" not in name:
        name = f"{domain}\\{name}"
    sid = next((v for k in sid_keys if (v := _value(raw, k))), "")
    return name, sid


def _actor(raw: dict[str, Any], event_id: int) -> tuple[dict[str, str], bool]:
    """The actor and whether it came from the Target fields.

    Normally the Subject acts; for logon and logoff events the Target is the
    account that logged on or off (the Subject, if any, only processed it).
    """
    subject = _account(raw, "Subject", ("SubjectUserSid",))
    target = _account(raw, "Target", ("TargetUserSid", "TargetSid"))
    order = [(target, True), (subject, False)]
    if event_id not in LOGON_EVENTS:
        order.reverse()
    order.append(((_value(raw, "UserName"), _value(raw, "UserSid")), False))
    actor = {"id": "unknown:no-subject-in-event", "type": "unknown"}
    from_target = False
    for (name, sid), is_target in order:
        if name or sid:
            actor, from_target = {"id": name or sid, "type": "account"}, is_target
            break
    else:
        if _value(raw, "Application"):
            actor = {"id": _value(raw, "Application"), "type": "process"}
    if _value(raw, "IpAddress"):
        actor["ip"] = _value(raw, "IpAddress")
    return actor, from_target


def _resource(raw: dict[str, Any], actor_is_target: bool) -> dict[str, str]:
    """The first resource found in the order of ``_RESOURCE_FIELDS``.

    The Target account counts only when it is not already the actor.
    """
    for field, kind, id_field in _RESOURCE_FIELDS:
        if field == "TargetUserName":
            found = {} if actor_is_target else _target_account(raw)
        else:
            found = _named_resource(raw, field, kind, id_field)
        if found:
            return found
    return {}


def _named_resource(
    raw: dict[str, Any], field: str, kind: str | None, id_field: str
) -> dict[str, str]:
    name = _value(raw, field)
    if not name:
        return {}
    found = {"type": kind or _value(raw, "ObjectType") or "object", "name": name}
    if id_field and _value(raw, id_field):
        found["id"] = _value(raw, id_field)
    return found


def _target_account(raw: dict[str, Any]) -> dict[str, str]:
    name, sid = _account(raw, "Target", ("TargetUserSid", "TargetSid"))
    if not (name or sid):
        return {}
    group = text_field(raw, "Category") == "Security Group Management"
    found = {"type": "group" if group else "account", "id": sid, "name": name}
    return {k: v for k, v in found.items() if v}
