"""Opaque pagination cursors.

A cursor names the last ``seq`` returned and a digest of the filter it was
issued for, so a cursor cannot be replayed against a different query.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict

from auditpipe_common.store import EventFilter


class CursorError(ValueError):
    """A cursor that is malformed or belongs to another query."""


def _digest(flt: EventFilter) -> str:
    return hashlib.sha256(json.dumps(asdict(flt), sort_keys=True).encode()).hexdigest()[:16]


def encode_cursor(flt: EventFilter, last_seq: int) -> str:
    """Cursor continuing after ``last_seq``."""
    raw = json.dumps({"s": last_seq, "f": _digest(flt)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(flt: EventFilter, cursor: str) -> int:
    """The ``seq`` to continue after; raises CursorError."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        seq, digest = int(data["s"]), str(data["f"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CursorError(f"malformed cursor: {exc}") from None
    if digest != _digest(flt):
        raise CursorError("cursor was issued for a different query")
    return seq
