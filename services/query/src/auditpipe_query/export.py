"""Export formats: JSON lines and CSV, one event per line, in ``seq`` order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from auditpipe_common.eventjson import event_to_json
from auditpipe_common.schema import AuditEvent

CSV_COLUMNS = (
    "tenant",
    "seq",
    "idempotency_key",
    "occurred_at",
    "received_at",
    "event",
    "action",
    "outcome",
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
    "request_id",
    "trace_id",
    "attributes",
)


def jsonl_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """One JSON object per line (attributes kept as an object, integers exact)."""
    for ev in events:
        yield json.dumps(event_to_json(ev), ensure_ascii=False, separators=(",", ":")) + "\n"


def _flat(ev: AuditEvent) -> list[Any]:
    doc = event_to_json(ev)
    out: list[Any] = []
    for col in CSV_COLUMNS:
        if col == "attributes":
            out.append(ev.attributes or "{}")
        elif "." in col:
            group, name = col.split(".")
            out.append(doc[group][name])
        else:
            out.append(doc[col])
    return out


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """RFC 4180 CSV with a header row; attributes as JSON text in one column."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    for ev in events:
        buf.seek(0)
        buf.truncate()
        writer.writerow(_flat(ev))
        yield buf.getvalue()
