"""AWS CloudTrail: ``{"Records": [...]}`` log files and plain JSON arrays of records.

See docs/replay-formats.md for the field mapping and the oddities handled.
"""

from __future__ import annotations

import re
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
    sub_object,
    text_field,
)
from auditpipe_common.timeutil import TimestampError, parse_rfc3339

FORMAT = "cloudtrail"
SUFFIXES = (".json", ".json.gz")

_DENIED = re.compile(r"AccessDenied|Unauthorized|Forbidden", re.IGNORECASE)
# requestParameters that name the target when a record has no ``resources``.
_PARAMETER_RESOURCES = (
    ("userName", "user"),
    ("roleName", "role"),
    ("groupName", "group"),
    ("policyArn", "policy"),
    ("bucketName", "bucket"),
    ("instanceId", "instance"),
    ("secretId", "secret"),
    ("keyId", "key"),
    ("functionName", "function"),
    ("dBInstanceIdentifier", "db-instance"),
    ("trailName", "trail"),
)


def read_cloudtrail(path: Path) -> Iterator[Record | Unmappable]:
    """Map every CloudTrail record in ``path`` (a file or a directory of them).

    A file that is not valid JSON, or holds neither ``{"Records": [...]}`` nor
    a JSON array, yields one Unmappable for the whole file.
    """
    for file, name in list_files(path, SUFFIXES):
        yield from _read_file(file, name)


def _read_file(file: Path, name: str) -> Iterator[Record | Unmappable]:
    try:
        with open_binary(file) as fh:
            doc = loads_exact(fh.read())
    except (SourceError, OSError, EOFError, zlib.error) as exc:
        yield Unmappable(name, f"cannot read file: {exc}")
        return
    records = doc.get("Records") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        yield Unmappable(name, 'not CloudTrail: expected {"Records": [...]} or a JSON array')
        return
    for index, raw in enumerate(records):
        yield map_record(raw, f"{name}#{index}")


def map_record(raw: Any, location: str) -> Record | Unmappable:
    """Map one parsed CloudTrail record; ``location`` names it in reports."""
    if not isinstance(raw, dict):
        return Unmappable(location, "record is not a JSON object")
    try:
        occurred = parse_rfc3339(text_field(raw, "eventTime"), assume_utc=True)
    except TimestampError as exc:
        return Unmappable(location, f"eventTime: {exc}")
    source, name = text_field(raw, "eventSource"), text_field(raw, "eventName")
    if not source or not name:
        return Unmappable(location, "eventSource or eventName missing")
    actor = _actor(raw)
    if actor is None:
        return Unmappable(location, "userIdentity names nobody (no arn, principalId, ...)")
    event_id = text_field(raw, "eventID")
    identity = (event_id,) if event_id else ("no-eventID", location)
    record = Record(
        idempotency_key=deterministic_uuid7(occurred // 1000, FORMAT, *identity),
        occurred_at_us=occurred,
        action=f"{source.split('.', 1)[0]}:{name}",
        actor=actor,
        event=name,
        outcome=_outcome(raw),
        resource=_resource(raw),
        source={"service": source, "host": text_field(raw, "awsRegion")},
        request_id=text_field(raw, "requestID"),
        attributes={"dataset_format": FORMAT, "record": raw},
        location=location,
    )
    return check_record(record)


def _actor(raw: dict[str, Any]) -> dict[str, str] | None:
    ident = sub_object(raw, "userIdentity")
    kind = text_field(ident, "type")
    actor_id = next(
        (v for k in ("arn", "principalId", "invokedBy", "userName") if (v := text_field(ident, k))),
        "",
    )
    if not actor_id and not kind:
        return None
    actor = {"id": actor_id or f"unknown:{kind}"}
    if kind:
        actor["type"] = kind
    issuer = sub_object(sub_object(ident, "sessionContext"), "sessionIssuer")
    if text_field(issuer, "arn"):
        actor["role"] = text_field(issuer, "arn")
    if text_field(raw, "sourceIPAddress"):
        actor["ip"] = text_field(raw, "sourceIPAddress")
    if text_field(raw, "userAgent"):
        actor["user_agent"] = text_field(raw, "userAgent")
    return actor


def _outcome(raw: dict[str, Any]) -> str:
    error = text_field(raw, "errorCode")
    if error:
        return "denied" if _DENIED.search(error) else "failure"
    response = raw.get("responseElements")
    if raw.get("eventType") == "AwsConsoleSignIn" and isinstance(response, dict):
        return "failure" if "Failure" in response.values() else "success"
    return "success"


def _resource(raw: dict[str, Any]) -> dict[str, str]:
    resources = raw.get("resources")
    if isinstance(resources, list) and resources and isinstance(resources[0], dict):
        first = resources[0]
        found = {"type": text_field(first, "type"), "id": text_field(first, "ARN")}
        return {k: v for k, v in found.items() if v}
    params = sub_object(raw, "requestParameters")
    for key, kind in _PARAMETER_RESOURCES:
        value = text_field(params, key)
        if value:
            return {"type": kind, "name": value}
    return {}
