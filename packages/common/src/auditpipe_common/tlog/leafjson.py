"""The *leaf JSON* form: every field of a leaf, lossless, readable.

Times are integer microseconds, ``outcome`` its enum number, ``attributes``
the exact stored JSON text (a string), ``clock_skewed`` a boolean, and
``actor``/``resource``/``source`` nested objects. It maps one-to-one to leaf
bytes, so a verifier can accept an event in this form instead of bytes.
"""

from __future__ import annotations

import struct
from typing import Any

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.leaf import FIELDS, INT_FORMATS, get_field, set_field


def leaf_json(ev: AuditEvent, index: int) -> dict[str, Any]:
    """The leaf JSON form of ``ev`` at position ``index``."""
    out: dict[str, Any] = {}
    for name, _kind in FIELDS:
        value = index if name == "index" else get_field(ev, name)
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
            set_field(ev, name, value)
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
    if kind in ("str", "bool"):
        if not isinstance(value, str if kind == "str" else bool):
            raise FormatError(
                f"leaf JSON field {name} must be a {'string' if kind == 'str' else 'boolean'}"
            )
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"leaf JSON field {name} must be an integer")
    try:
        struct.pack(INT_FORMATS[kind], value)
    except struct.error:
        raise FormatError(f"leaf JSON field {name} = {value} does not fit {kind}") from None
