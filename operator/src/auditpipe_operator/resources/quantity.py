"""Kubernetes quantities as numbers (only what the builders need: memory sizes)."""

from __future__ import annotations

import re
from decimal import Decimal

_SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([kMGTPE]i?|Ki)?$")


def quantity_bytes(value: int | str) -> int | None:
    """Bytes of a memory quantity such as ``2Gi`` or ``512M``; None if it cannot be read."""
    match = _QUANTITY.match(str(value))
    if match is None:
        return None
    number, suffix = match.group(1), match.group(2) or ""
    return int(Decimal(number) * _SUFFIXES[suffix])
