"""Turning a request body into events, one verdict per event.

A protobuf body is read through :class:`EventBatchFrames`, a view of the same
bytes with each event left undecoded, so one event with invalid UTF-8 or a
broken field is rejected alone while the rest of the batch goes on. A JSON
body is ``{"events": [...]}`` or a bare array, in UTF-8, and the same holds
for it: bytes that are not UTF-8 inside one event's strings, a key named
twice in one event, or one event nested deeper than the parser goes, reject
that event alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from auditpipe_common.errors import EventError
from auditpipe_common.eventjson import (
    DuplicateKeys,
    duplicate_key,
    event_from_json,
    object_pairs,
)
from auditpipe_common.schema import AuditEvent, EventBatchFrames
from auditpipe_ingest.jsonsplit import event_texts


class BatchError(Exception):
    """The body as a whole cannot be read; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Decoded:
    """One event of a batch: the event (with its encoded size) or why it is invalid.

    ``key`` is the event's idempotency key when it could be read, so a
    rejection names it.
    """

    index: int
    event: AuditEvent | None
    size: int
    error: EventError | None = None
    key: str = ""


def decode_protobuf(body: bytes) -> list[Decoded]:
    """Decode a protobuf EventBatch body."""
    try:
        frames = EventBatchFrames.FromString(body)
    except DecodeError as exc:
        raise BatchError(400, f"malformed protobuf EventBatch: {exc}") from None
    out = []
    for i, frame in enumerate(frames.events):
        try:
            out.append(Decoded(i, AuditEvent.FromString(frame), len(frame)))
        except DecodeError as exc:
            err = EventError("malformed_event", "", f"cannot decode AuditEvent: {exc}")
            out.append(Decoded(i, None, len(frame), err))
    return out


def decode_json(body: bytes) -> list[Decoded]:
    """Decode a JSON body: ``{"events": [...]}`` or ``[...]``."""
    # Bytes that are not UTF-8 become lone surrogates: inside a string they reject
    # only their event (invalid_utf8); anywhere else they make the JSON invalid.
    text = body.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    pairs = _Pairs()
    try:
        doc = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        return [_parse_one(i, t, pairs) for i, t in enumerate(_event_texts(text))]
    except ValueError as exc:
        raise BatchError(400, f"invalid JSON: {exc}") from None
    items = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise BatchError(400, 'expected {"events": [...]} or a JSON array of events')
    return [_decoded(i, item, None, pairs) for i, item in enumerate(items)]


class _Pairs:
    """``object_pairs_hook`` that remembers whether any object named a key twice."""

    def __init__(self) -> None:
        self.repeated = False

    def __call__(self, items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = object_pairs(items)
        self.repeated |= isinstance(obj, DuplicateKeys)
        return obj


def _event_texts(text: str) -> list[str]:
    try:
        return event_texts(text)
    except ValueError as exc:
        raise BatchError(400, f"invalid JSON: {exc}") from None


def _parse_one(index: int, text: str, pairs: _Pairs) -> Decoded:
    """Parse one event's text on its own (the batch was nested too deeply to parse whole)."""
    try:
        item = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        return Decoded(index, None, _size(text), _TOO_DEEP)
    except ValueError as exc:
        raise BatchError(400, f"invalid JSON in event {index}: {exc}") from None
    return _decoded(index, item, text, pairs)


def _decoded(index: int, item: Any, text: str | None, pairs: _Pairs) -> Decoded:
    """Build one event from its parsed JSON; ``text`` is its source text when known."""
    key = item.get("idempotency_key") if isinstance(item, dict) else None
    key = key if isinstance(key, str) else ""
    try:
        size = _size(text if text is not None else json.dumps(item, ensure_ascii=False))
        path = duplicate_key(item) if pairs.repeated else None
        if path is not None:
            raise EventError("duplicate_field", path, "named twice: which value is meant?")
        return Decoded(index, event_from_json(item), size, key=key)
    except EventError as err:
        return Decoded(index, None, size, err, key)
    except RecursionError:
        return Decoded(index, None, len(text or ""), _TOO_DEEP, key)


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


_TOO_DEEP = EventError("too_deep", "", "nested deeper than the JSON parser goes")
