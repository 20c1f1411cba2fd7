"""Export formats: JSON lines and CSV, one event per line, in ``seq`` order."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from auditpipe_common.eventjson import event_to_json
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store.rows import PATHS

CSV_COLUMNS = PATHS


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
