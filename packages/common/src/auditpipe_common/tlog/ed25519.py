"""Checks on Ed25519 public keys that signature libraries do not make.

A verifier key must be a canonical encoding (RFC 8032 section 5.1.3) of a
point on the curve whose order is not small: for the eight small-order
points, a signature verifies for every message, so a log publishing such a
key could later disown anything "it" signed.
"""

from __future__ import annotations

_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _x_from_y(y: int) -> int | None:
    """An x with (x, y) on the curve (either sign), or None if there is none."""
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    return x if (x * x - x2) % _P == 0 else None


def _double(x: int, y: int) -> tuple[int, int]:
    """Point doubling with the complete addition law of -x^2 + y^2 = 1 + d x^2 y^2."""
    t = _D * x * x * y * y % _P
    x3 = 2 * x * y * pow(1 + t, _P - 2, _P) % _P
    y3 = (y * y + x * x) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


def public_key_problem(key: bytes) -> str | None:
    """Why ``key`` (32 bytes) is not acceptable as a verifier key, or None if it is."""
    if len(key) != 32:
        return "an Ed25519 public key is 32 bytes"
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    x = _x_from_y(y) if y < _P else None
    if x is None:
        return "not the canonical encoding of a point on Ed25519"
    if x == 0 and key[31] >> 7:
        return "not the canonical encoding of a point on Ed25519"
    for _ in range(3):
        x, y = _double(x, y)
    if (x, y) == (0, 1):
        return "an Ed25519 key of small order (signatures by it prove nothing)"
    return None
