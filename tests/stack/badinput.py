"""Building test batches of good and bad events, in protobuf and in JSON, and judging them.

A :class:`Subject` is one event of a batch in both wire forms (or in the one
form that can express its problem) with what must become of it: rejected
with a code and field, dropped as an in-batch duplicate, or accepted and
exported exactly as expected.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from auditpipe_common.eventjson import event_from_json
from auditpipe_common.schema import EventBatchFrames
from auditpipe_common.timeutil import format_rfc3339, now_us

PROTOBUF = "application/x-protobuf"
_seq = itertools.count(1)

Doc = dict[str, Any]


def event_doc(**fields: Any) -> Doc:
    """The JSON form of a valid event with a fresh key and number; ``fields`` override."""
    return {
        "idempotency_key": str(uuid.uuid4()),
        "seq": next(_seq),
        "occurred_at": format_rfc3339(now_us()),
        "action": "doc.read",
        "actor": {"id": "u-1"},
        **fields,
    }


def without(doc: Doc, path: str) -> Doc:
    """``doc`` with the field at ``path`` (``actor.id``) removed."""
    out = json.loads(json.dumps(doc))
    *groups, name = path.split(".")
    target = out
    for g in groups:
        target = target[g]
    del target[name]
    return out


@dataclass
class Subject:
    """One event of a test batch and its expected fate.

    ``json`` and ``pb`` are the event's bytes in each form (None: the form
    cannot express it). ``code`` empty means accepted; ``exported`` lists
    fields the export must show exactly.
    """

    json: bytes | None
    pb: bytes | None
    code: str = ""
    field: str = ""
    duplicate: bool = False
    key: str = ""
    exported: Doc = dataclasses.field(default_factory=dict)

    def raw(self, fmt: str) -> bytes | None:
        """The event's bytes in ``fmt`` ("json" or "protobuf")."""
        return self.json if fmt == "json" else self.pb


def subject(doc: Doc, code: str = "", field: str = "", **kw: Any) -> Subject:
    """A subject written the same way in both forms (protobuf built from the JSON form)."""
    return Subject(
        json.dumps(doc, ensure_ascii=False).encode(),
        event_from_json(doc).SerializeToString(),
        code,
        field,
        key=str(doc.get("idempotency_key", "")),
        **kw,
    )


def json_only(doc: Doc, code: str = "", field: str = "", **kw: Any) -> Subject:
    """A subject only JSON can express (a type, a text timestamp, raw bytes).

    ``raw`` in ``kw`` replaces the bytes written from ``doc``.
    """
    raw = kw.pop("raw", None) or json.dumps(doc, ensure_ascii=False).encode()
    return Subject(raw, None, code, field, key=str(doc.get("idempotency_key", "")), **kw)


def pb_only(doc: Doc, code: str, field: str, **changes: Any) -> Subject:
    """A subject only protobuf can express: ``doc`` with raw field values set.

    ``raw`` in ``changes`` replaces the serialised event altogether.
    """
    raw = changes.pop("raw", None)
    if raw is None:
        ev = event_from_json(doc)
        for name, value in changes.items():
            setattr(ev, name, value)
        raw = ev.SerializeToString()
    return Subject(None, raw, code, field, key=str(doc.get("idempotency_key", "")))


def body(fmt: str, frames: Iterable[bytes]) -> bytes:
    """A batch body of the given event bytes."""
    if fmt == "json":
        return b'{"events": [' + b",".join(frames) + b"]}"
    return EventBatchFrames(events=list(frames)).SerializeToString()


@dataclass
class Ingest:
    """Posts batches to ingest with one tenant's key."""

    url: str
    key: str

    def post(self, fmt: str, content: bytes) -> httpx.Response:
        """POST a body; the answer is always JSON."""
        ctype = PROTOBUF if fmt == "protobuf" else "application/json"
        headers = {
            "authorization": f"Bearer {self.key}",
            "content-type": ctype,
            "accept": "application/json",
        }
        return httpx.post(f"{self.url}/v1/events", content=content, headers=headers, timeout=60)

    def good(self, fmt: str, n: int = 2) -> list[str]:
        """Post ``n`` valid events; returns their keys."""
        docs = [event_doc() for _ in range(n)]
        r = self.post(fmt, body(fmt, (subject(d).raw(fmt) or b"" for d in docs)))
        assert r.status_code == 200, r.text
        return [d["idempotency_key"] for d in docs]


def check_answer(answer: Doc, subjects: list[Subject], offset: int) -> None:
    """Every subject got its expected verdict (subjects start at index ``offset``)."""
    results = {r["index"]: r for r in answer["results"]}
    for i, s in enumerate(subjects, start=offset):
        r = results[i]
        if s.code:
            got = (r["status"], r["code"], r["field"])
            assert got == ("rejected", s.code, s.field), (i, r)
            assert r["reason"], r
        else:
            assert r["status"] == ("duplicate" if s.duplicate else "accepted"), (i, r)


def check_exported(rows: dict[str, Doc], subjects: list[Subject], fmt: str) -> None:
    """Accepted subjects are exported with exactly the expected fields."""
    for s in subjects:
        if s.code or s.duplicate or s.raw(fmt) is None:
            continue
        row = rows[s.key]
        for name, value in s.exported.items():
            assert row[name] == value, (name, row[name], value)
