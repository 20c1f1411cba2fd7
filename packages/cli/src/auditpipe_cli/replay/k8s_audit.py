"""Kubernetes API-server audit events flattened to CSV by Logstash (no header row).

The column order is the Logstash ``csv`` output's ``fields`` list used by the
PerfSPEC data set; see docs/replay-formats.md for the mapping.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from auditpipe_cli.replay.model import Record, Unmappable, check_record, deterministic_uuid7
from auditpipe_cli.replay.sources import list_files
from auditpipe_common.timeutil import TimestampError, parse_rfc3339

FORMAT = "k8s-audit-csv"
SUFFIXES = (".csv",)
COLUMNS = (
    "host",
    "requestReceivedTimestamp",
    "user.username",
    "verb",
    "objectRef.resource",
    "objectRef.subresource",
    "objectRef.name",
    "responseObject.metadata.name",
    "requestURI",
    "auditID",
    "stage",
    "responseStatus.code",
    "responseObject.metadata.uid",
    "responseObject.metadata.ownerReferences[0].uid",
    "responseObject.details.uid",
)
_ACTOR_TYPES = (
    ("system:serviceaccount:", "serviceaccount"),
    ("system:node:", "node"),
    ("system:anonymous", "anonymous"),
    ("system:", "system"),
)

# One parsed row: (first physical line, the fields) or (first line, csv error text).
_Row = tuple[int, list[str] | str]


def read_k8s_audit(path: Path) -> Iterator[Record | Unmappable]:
    """Map every row of the audit CSV file(s) at ``path``.

    Rows that do not have exactly 15 columns (such as a row cut off at the end
    of the file) and rows the ``csv`` module rejects yield an Unmappable.
    Blank lines are not records and are skipped.
    """
    for file, name in list_files(path, SUFFIXES):
        yield from _read_file(file, name)


def _read_file(file: Path, name: str) -> Iterator[Record | Unmappable]:
    ends_cleanly = _ends_with_line_end(file)
    rows = _rows(file)
    current = next(rows, None)
    while current is not None:
        following = next(rows, None)
        line, fields = current
        location = f"{name}:{line}"
        if isinstance(fields, str):
            yield Unmappable(location, f"CSV error: {fields}")
        elif len(fields) != len(COLUMNS):
            cut = following is None and not ends_cleanly
            yield Unmappable(location, _column_reason(len(fields), cut))
        else:
            yield map_row(fields, location)
        current = following


def _ends_with_line_end(file: Path) -> bool:
    with file.open("rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return True
        fh.seek(size - 1)
        return fh.read(1) in (b"\n", b"\r")


def _rows(file: Path) -> Iterator[_Row]:
    # surrogateescape: undecodable bytes become lone surrogates, which
    # check_record reports for the one row instead of failing the file.
    with file.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, str(exc)
                continue
            if fields:
                yield start, fields


def _column_reason(count: int, cut_off: bool) -> str:
    reason = f"row has {count} columns, expected {len(COLUMNS)}"
    if cut_off:
        reason += " (truncated: last row of the file, no line end)"
    return reason


def map_row(fields: list[str], location: str) -> Record | Unmappable:
    """Map one 15-column CSV row; ``location`` names it in reports."""
    row = dict(zip(COLUMNS, fields, strict=True))
    try:
        occurred = parse_rfc3339(row["requestReceivedTimestamp"], assume_utc=True)
    except TimestampError as exc:
        return Unmappable(location, f"requestReceivedTimestamp: {exc}")
    user, verb = row["user.username"], row["verb"]
    if not user or not verb:
        return Unmappable(location, "user.username or verb is empty")
    audit_id, stage = row["auditID"], row["stage"]
    identity = (audit_id, stage) if audit_id else ("no-auditID", location)
    record = Record(
        idempotency_key=deterministic_uuid7(occurred // 1000, FORMAT, *identity),
        occurred_at_us=occurred,
        action=verb,
        actor={"id": user, "type": _actor_type(user)},
        event=stage,
        outcome=_outcome(row["responseStatus.code"]),
        resource=_resource(row),
        source={"service": "kube-apiserver", "host": _host(row["host"])},
        request_id=audit_id,
        attributes={"dataset_format": FORMAT, "record": row},
        location=location,
    )
    return check_record(record)


def _actor_type(user: str) -> str:
    return next((kind for prefix, kind in _ACTOR_TYPES if user.startswith(prefix)), "user")


def _outcome(code: str) -> str:
    if not code.isdigit():
        return "unknown"
    status = int(code)
    if status in (401, 403):
        return "denied"
    return "failure" if status >= 400 else "success"


def _resource(row: dict[str, str]) -> dict[str, str]:
    path = row["requestURI"].split("?", 1)[0]
    kind = row["objectRef.resource"]
    if not kind:
        return {"type": "nonResourceURL", "id": path} if path else {}
    if row["objectRef.subresource"]:
        kind += "/" + row["objectRef.subresource"]
    found = {"type": kind, "id": path, "name": row["objectRef.name"]}
    return {k: v for k, v in found.items() if v}


def _host(cell: str) -> str:
    """The ``name`` of the Logstash host object in column 0, or ``""``."""
    try:
        host = json.loads(cell)
    except ValueError:
        return ""
    name = host.get("name") if isinstance(host, dict) else None
    return name if isinstance(name, str) else ""
