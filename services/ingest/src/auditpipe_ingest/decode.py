"""Turning a request body into events, one verdict per event.

A protobuf body is read through :class:`EventBatchFrames`, a view of the same
bytes with each event left undecoded, so one event with invalid UTF-8 or a
broken field is rejected alone while the rest of the batch goes on. A JSON
body is ``{"events": [...]}`` or a bare array.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from auditpipe_common.errors import EventError
from auditpipe_common.eventjson import event_from_json
from auditpipe_common.schema import AuditEvent, EventBatchFrames


class BatchError(Exception):
    """The body as a whole cannot be read; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Decoded:
    """One event of a batch: the event (with its encoded size) or why it is invalid."""

    index: int
    event: AuditEvent | None
    size: int
    error: EventError | None = None


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
    try:
        doc = json.loads(body)
    except UnicodeDecodeError as exc:
        raise BatchError(400, f"body is not UTF-8: {exc}") from None
    except RecursionError:
        raise BatchError(400, "JSON nested too deeply to parse") from None
    except ValueError as exc:
        raise BatchError(400, f"invalid JSON: {exc}") from None
    items = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise BatchError(400, 'expected {"events": [...]} or a JSON array of events')
    out = []
    for i, item in enumerate(items):
        size = len(json.dumps(item, ensure_ascii=False).encode()) if item is not None else 0
        try:
            out.append(Decoded(i, event_from_json(item), size))
        except EventError as err:
            out.append(Decoded(i, None, size, err))
        except RecursionError:
            deep = EventError("too_deep", "attributes", "nested too deeply")
            out.append(Decoded(i, None, size, deep))
    return out
