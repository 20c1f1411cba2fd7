"""Small strict codecs shared by the tamper-evidence formats."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from auditpipe_common.tlog.errors import FormatError


def b64(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 section 4) as text."""
    return base64.b64encode(data).decode("ascii")


def decode_b64(text: str, what: str) -> bytes:
    """Strict standard base64: padded, no whitespace, canonical; FormatError otherwise."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise FormatError(f"{what} is not valid base64") from None
    if b64(data) != text:
        raise FormatError(f"{what} is not canonical base64")
    return data


def decimal(text: str, what: str, limit: int = 2**64 - 1) -> int:
    """An ASCII decimal without sign or leading zeros, at most ``limit``."""
    bad = not text.isascii() or not text.isdigit() or len(text) > 20
    if bad or (len(text) > 1 and text[0] == "0"):
        raise FormatError(f"{what} must be a decimal number without leading zeros, got {text!r}")
    value = int(text)
    if value > limit:
        raise FormatError(f"{what} {value} is out of range")
    return value


def dumps(obj: dict[str, Any]) -> str:
    """The JSON file form: two-space indentation, keys in insertion order, UTF-8, final newline."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
