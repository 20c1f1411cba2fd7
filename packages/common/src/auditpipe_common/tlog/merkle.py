"""RFC 6962 / RFC 9162 Merkle tree hashing and proof verification.

Hashes are SHA-256. A leaf is hashed as ``SHA-256(0x00 || leaf)``, an inner
node as ``SHA-256(0x01 || left || right)``, and the hash of the empty tree is
``SHA-256("")``. The verification algorithms are those of RFC 9162 sections
2.1.3.2 (inclusion) and 2.1.4.2 (consistency), step by step. Verifiers raise
:class:`ProofError` (or :class:`FormatError` for malformed arguments) and
return nothing on success, so a forgotten check of a return value cannot
accept a bad proof.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from auditpipe_common.tlog.errors import FormatError, ProofError

HASH_SIZE = 32
MAX_SIZE = 2**64 - 1
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def hash_leaf(leaf: bytes) -> bytes:
    """The RFC 6962 leaf hash: ``SHA-256(0x00 || leaf)``."""
    return hashlib.sha256(_LEAF_PREFIX + leaf).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    if n < 2:
        raise ValueError(f"no split point for a tree of size {n}")
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SIZE:
        raise FormatError(f"{name} must be an integer in [0, 2^64), got {value!r}")


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise FormatError(f"{what}[{i}] is {len(h)} bytes, a hash is {HASH_SIZE}")


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until the LSB of ``fn`` is set or ``fn`` is 0."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2 steps 1-4).

    Raises ProofError when the proof has the wrong number of hashes for
    ``index`` and ``size``; the caller compares the result with a root.
    """
    _check_size("index", index)
    _check_size("size", size)
    _check_hashes("leaf hash", [leaf_hash])
    _check_hashes("proof", proof)
    if index >= size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``."""
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if not _same(computed, root):
        raise ProofError(
            f"inclusion proof for leaf {index} does not lead to the root of size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``new_size`` extends the tree of ``old_size``.

    Sizes must satisfy ``0 < old_size <= new_size``: every tree extends the
    empty tree, so a consistency proof from size 0 proves nothing and is
    rejected. Equal sizes need an empty proof and equal roots.
    """
    _check_size("old size", old_size)
    _check_size("new size", new_size)
    _check_hashes("proof", proof)
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("sizes are equal but the consistency proof is not empty")
        if not _same(old_root, new_root):
            raise ProofError(f"two different roots for the same tree size {old_size}")
        return
    fr, sr = _consistency_roots(old_size, new_size, proof, old_root)
    if not _same(fr, old_root):
        raise ProofError(f"consistency proof does not lead to the old root (size {old_size})")
    if not _same(sr, new_root):
        raise ProofError(f"consistency proof does not lead to the new root (size {new_size})")


def _consistency_roots(
    first: int, second: int, proof: Sequence[bytes], first_hash: bytes
) -> tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 steps 1-6 for ``0 < first < second``: the two roots."""
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    return fr, sr
