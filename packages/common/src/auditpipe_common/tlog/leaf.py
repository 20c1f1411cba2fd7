"""The canonical, language-independent byte encoding of one stored audit event.

A leaf of a tenant's log is the concatenation of these fields, in this order
(``str`` = big-endian u32 byte length, then the UTF-8 bytes; ``u64``/``i64``/
``i32`` = fixed-width big-endian, two's complement for the signed ones;
``bool`` = one byte, 0x00 or 0x01)::

    str  domain tag "auditpipe/leaf/v1"
    str  tenant
    u64  index            (position in the tenant's log, from 0)
    u64  seq
    str  idempotency_key
    i64  occurred_at      (microseconds since the Unix epoch, UTC)
    i64  received_at
    str  event
    str  action
    i32  outcome          (the protobuf enum number)
    str  actor.id, actor.type, actor.role, actor.ip, actor.user_agent
    str  resource.type, resource.id, resource.name
    str  source.service, source.host, source.sdk_name, source.sdk_version
    str  request_id
    str  trace_id
    str  attributes       (the stored JSON text, byte for byte)
    bool clock_skewed

An absent actor/resource/source encodes like one with empty strings. The
*event encoding* (for receipts, before a log position exists) is the same
without ``index`` and with the tag ``"auditpipe/event/v1"``. The leaf hash is
the RFC 6962 leaf hash of the leaf bytes; the event hash is the RFC 6962 leaf
hash of the event bytes. Protobuf serialisation is never the canonical form:
it is not unique.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Sequence
from typing import Any

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.merkle import hash_leaf

LEAF_TAG = "auditpipe/leaf/v1"
EVENT_TAG = "auditpipe/event/v1"

# (dotted field name, kind) after the tag; "index" is only in leaves.
FIELDS: tuple[tuple[str, str], ...] = (
    ("tenant", "str"), ("index", "u64"), ("seq", "u64"), ("idempotency_key", "str"),
    ("occurred_at", "i64"), ("received_at", "i64"), ("event", "str"), ("action", "str"),
    ("outcome", "i32"), ("actor.id", "str"), ("actor.type", "str"), ("actor.role", "str"),
    ("actor.ip", "str"), ("actor.user_agent", "str"), ("resource.type", "str"),
    ("resource.id", "str"), ("resource.name", "str"), ("source.service", "str"),
    ("source.host", "str"), ("source.sdk_name", "str"), ("source.sdk_version", "str"),
    ("request_id", "str"), ("trace_id", "str"), ("attributes", "str"), ("clock_skewed", "bool"),
)  # fmt: skip
INT_FORMATS = {"u64": ">Q", "i64": ">q", "i32": ">i", "bool": ">?"}


def _prefixed(tag: str) -> bytes:
    data = tag.encode()
    return len(data).to_bytes(4, "big") + data


_LEAF_PREFIX, _EVENT_PREFIX = _prefixed(LEAF_TAG), _prefixed(EVENT_TAG)
_TWO_U64, _TWO_I64 = struct.Struct(">QQ"), struct.Struct(">qq")
_I32 = struct.Struct(">i")


def _s(value: str) -> bytes:
    data = value.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


# The event's fields in leaf order (without the index), fetched in one call: reading
# fields of a protobuf message one by one costs more than the encoding itself.
VALUE_FIELDS = tuple(name for name, _ in FIELDS if name != "index")
event_values = operator.attrgetter(*VALUE_FIELDS)


def _encode_values(values: Sequence[Any], prefix: bytes, index: int | None) -> bytes:
    """The encoding of an event given as ``event_values(ev)`` (the writer's hot path)."""
    tenant, seq, key, occurred, received, event, action, outcome, *texts, skewed = values
    head = _TWO_U64.pack(index, seq) if index is not None else seq.to_bytes(8, "big")
    parts = [prefix, _s(tenant), head, _s(key), _TWO_I64.pack(occurred, received), _s(event),
             _s(action), _I32.pack(outcome)]  # fmt: skip
    for text in texts:
        data = text.encode()
        parts += (len(data).to_bytes(4, "big"), data)
    parts.append(b"\x01" if skewed else b"\x00")
    return b"".join(parts)


def _encode(ev: AuditEvent, prefix: bytes, index: int | None) -> bytes:
    return _encode_values(event_values(ev), prefix, index)


def _safe_encode(ev: AuditEvent, prefix: bytes, index: int | None) -> bytes:
    try:
        return _encode(ev, prefix, index)
    except UnicodeEncodeError:
        raise FormatError("a text field is not valid Unicode") from None
    except (struct.error, OverflowError):
        raise FormatError(f"index {index!r} does not fit an unsigned 64-bit integer") from None


def leaf_bytes(ev: AuditEvent, index: int) -> bytes:
    """The canonical leaf encoding of ``ev`` stored at position ``index`` of its log."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise FormatError(f"index must be an integer, got {index!r}")
    return _safe_encode(ev, _LEAF_PREFIX, index)


def leaf_hash(ev: AuditEvent, index: int) -> bytes:
    """The RFC 6962 leaf hash ``SHA-256(0x00 || leaf_bytes(ev, index))``."""
    return hash_leaf(leaf_bytes(ev, index))


def leaf_hash_of(values: Sequence[Any], index: int) -> bytes:
    """:func:`leaf_hash` of an event given as ``event_values(ev)`` (fetched once, reused)."""
    try:
        return hash_leaf(_encode_values(values, _LEAF_PREFIX, index))
    except UnicodeEncodeError:
        raise FormatError("a text field is not valid Unicode") from None


def event_bytes(ev: AuditEvent) -> bytes:
    """The canonical encoding of ``ev`` before it has a log position (for receipts)."""
    return _safe_encode(ev, _EVENT_PREFIX, None)


def event_hash(ev: AuditEvent) -> bytes:
    """``SHA-256(0x00 || event_bytes(ev))``: the leaf of ``ev`` in its ingest receipt."""
    return hash_leaf(event_bytes(ev))


def get_field(ev: AuditEvent, name: str) -> Any:
    """The value of a dotted field (``outcome`` as a plain int)."""
    obj: Any = ev
    for part in name.split("."):
        obj = getattr(obj, part)
    return int(obj) if name == "outcome" else obj


def set_field(ev: AuditEvent, name: str, value: Any) -> None:
    """Set a dotted field; defaults stay unset, so an absent group stays absent."""
    if not value:
        return
    *path, last = name.split(".")
    obj: Any = ev
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError(f"leaf ends inside {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def field(self, name: str, kind: str) -> Any:
        if kind == "bool":
            byte = self.take(1, name)[0]
            if byte > 1:
                raise FormatError(f"{name} must be 0x00 or 0x01, got {byte:#04x}")
            return bool(byte)
        if kind != "str":
            fmt = INT_FORMATS[kind]
            return struct.unpack(fmt, self.take(struct.calcsize(fmt), name))[0]
        length = int.from_bytes(self.take(4, name), "big")
        try:
            return self.take(length, name).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"{name} is not valid UTF-8") from None


def decode_leaf(data: bytes) -> tuple[AuditEvent, int]:
    """Parse canonical leaf bytes back into the event and its log position.

    Strict: the tag must be ``auditpipe/leaf/v1``, no byte may be left over,
    and re-encoding gives exactly ``data``. Raises FormatError otherwise.
    """
    reader = _Reader(data)
    tag = reader.field("tag", "str")
    if tag != LEAF_TAG:
        raise FormatError(f"not an auditpipe v1 leaf (tag {tag[:40]!r})")
    ev, index = AuditEvent(), 0
    for name, kind in FIELDS:
        value = reader.field(name, kind)
        if name == "index":
            index = value
        else:
            set_field(ev, name, value)
    if reader.pos != len(data):
        raise FormatError(f"{len(data) - reader.pos} bytes after the last leaf field")
    if leaf_bytes(ev, index) != data:
        raise FormatError("leaf bytes do not round-trip")
    return ev, index
