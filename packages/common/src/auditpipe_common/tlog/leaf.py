"""The canonical, language-independent byte encoding of one stored audit event.

A leaf of a tenant's log is the concatenation of these fields, in this order
(``str`` = big-endian u32 byte length, then the UTF-8 bytes; ``u64``/``i64``/
``i32`` = fixed-width big-endian, two's complement for the signed ones)::

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

An absent actor/resource/source encodes like one with empty strings. The
*event encoding* (for receipts, before a log position exists) is the same
without ``index`` and with the tag ``"auditpipe/event/v1"``. The leaf hash
is the RFC 6962 leaf hash of the leaf bytes; the event hash is the plain
SHA-256 of the event bytes. Protobuf serialisation is never the canonical
form: it is not unique.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.merkle import hash_leaf

LEAF_TAG = "auditpipe/leaf/v1"
EVENT_TAG = "auditpipe/event/v1"

# (dotted field name, kind) after the tag; "index" is only in leaves.
FIELDS: tuple[tuple[str, str], ...] = (
    ("tenant", "str"),
    ("index", "u64"),
    ("seq", "u64"),
    ("idempotency_key", "str"),
    ("occurred_at", "i64"),
    ("received_at", "i64"),
    ("event", "str"),
    ("action", "str"),
    ("outcome", "i32"),
    ("actor.id", "str"),
    ("actor.type", "str"),
    ("actor.role", "str"),
    ("actor.ip", "str"),
    ("actor.user_agent", "str"),
    ("resource.type", "str"),
    ("resource.id", "str"),
    ("resource.name", "str"),
    ("source.service", "str"),
    ("source.host", "str"),
    ("source.sdk_name", "str"),
    ("source.sdk_version", "str"),
    ("request_id", "str"),
    ("trace_id", "str"),
    ("attributes", "str"),
)
_INT_FORMATS = {"u64": ">Q", "i64": ">q", "i32": ">i"}
_U32 = struct.Struct(">I")


def _fields(with_index: bool) -> tuple[tuple[str, str], ...]:
    return FIELDS if with_index else tuple(f for f in FIELDS if f[0] != "index")


def _get(ev: AuditEvent, name: str) -> Any:
    obj: Any = ev
    for part in name.split("."):
        obj = getattr(obj, part)
    return int(obj) if name == "outcome" else obj


def _put(ev: AuditEvent, name: str, value: Any) -> None:
    if not value:
        return  # defaults stay unset, so an absent actor/resource/source stays absent
    *path, last = name.split(".")
    obj: Any = ev
    for part in path:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def _encode(values: list[tuple[str, str, Any]]) -> bytes:
    out = bytearray()
    for name, kind, value in values:
        if kind == "str":
            try:
                data = value.encode("utf-8")
            except UnicodeEncodeError:
                raise FormatError(f"{name} is not valid Unicode text") from None
            out += _U32.pack(len(data)) + data
        else:
            try:
                out += struct.pack(_INT_FORMATS[kind], value)
            except struct.error:
                raise FormatError(f"{name} = {value!r} does not fit {kind}") from None
    return bytes(out)


def _encode_event(ev: AuditEvent, tag: str, index: int | None) -> bytes:
    values: list[tuple[str, str, Any]] = [("tag", "str", tag)]
    for name, kind in _fields(index is not None):
        values.append((name, kind, index if name == "index" else _get(ev, name)))
    return _encode(values)


def leaf_bytes(ev: AuditEvent, index: int) -> bytes:
    """The canonical leaf encoding of ``ev`` stored at position ``index`` of its log."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise FormatError(f"index must be an integer, got {index!r}")
    return _encode_event(ev, LEAF_TAG, index)


def leaf_hash(ev: AuditEvent, index: int) -> bytes:
    """The RFC 6962 leaf hash ``SHA-256(0x00 || leaf_bytes(ev, index))``."""
    return hash_leaf(leaf_bytes(ev, index))


def event_bytes(ev: AuditEvent) -> bytes:
    """The canonical encoding of ``ev`` before it has a log position (for receipts)."""
    return _encode_event(ev, EVENT_TAG, None)


def event_hash(ev: AuditEvent) -> bytes:
    """``SHA-256(event_bytes(ev))``: what a receipt signs."""
    return hashlib.sha256(event_bytes(ev)).digest()


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
        if kind != "str":
            fmt = _INT_FORMATS[kind]
            return struct.unpack(fmt, self.take(struct.calcsize(fmt), name))[0]
        (length,) = _U32.unpack(self.take(4, name))
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
            _put(ev, name, value)
    if reader.pos != len(data):
        raise FormatError(f"{len(data) - reader.pos} bytes after the last leaf field")
    if leaf_bytes(ev, index) != data:
        raise FormatError("leaf bytes do not round-trip")
    return ev, index


def leaf_json(ev: AuditEvent, index: int) -> dict[str, Any]:
    """The *leaf JSON* form: every leaf field, lossless (times in microseconds,
    ``outcome`` as its number, ``attributes`` as the exact stored text)."""
    out: dict[str, Any] = {}
    for name, _kind in FIELDS:
        value = index if name == "index" else _get(ev, name)
        group, _, sub = name.rpartition(".")
        (out.setdefault(group, {}) if group else out)[sub] = value
    return out


def leaf_from_json(obj: Any) -> tuple[AuditEvent, int]:
    """Parse the leaf JSON form (every field required, nothing else allowed)."""
    _check_shape(obj, leaf_json(AuditEvent(), 0), "")
    ev, index = AuditEvent(), 0
    for name, kind in FIELDS:
        group, _, sub = name.rpartition(".")
        value = (obj[group] if group else obj)[sub]
        _check_value(name, kind, value)
        if name == "index":
            index = value
        else:
            _put(ev, name, value)
    return ev, index


def _check_shape(obj: Any, template: dict[str, Any], prefix: str) -> None:
    if not isinstance(obj, dict):
        raise FormatError(f"leaf JSON {prefix or 'value'} must be an object")
    for key in sorted(set(obj) ^ set(template)):
        raise FormatError(
            f"leaf JSON {'lacks' if key in template else 'has unknown'} {prefix}{key}"
        )
    for key, sub in template.items():
        if isinstance(sub, dict):
            _check_shape(obj[key], sub, f"{key}.")


def _check_value(name: str, kind: str, value: Any) -> None:
    if kind == "str":
        if not isinstance(value, str):
            raise FormatError(f"leaf JSON field {name} must be a string")
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"leaf JSON field {name} must be an integer")
    try:
        struct.pack(_INT_FORMATS[kind], value)
    except struct.error:
        raise FormatError(f"leaf JSON field {name} = {value} does not fit {kind}") from None
