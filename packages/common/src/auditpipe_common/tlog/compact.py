"""The append-only state of a Merkle tree: its compact range (frontier).

A tree of ``size`` leaves is a sequence of perfect subtrees, one per set bit
of ``size``, largest (leftmost) first. Their roots — at most 64 hashes — are
all a writer needs to append leaves and compute the new root, without reading
old leaves again. The state is persisted as bytes or JSON:

* bytes: ``size`` as a big-endian unsigned 64-bit integer, then the subtree
  roots (32 bytes each, ``popcount(size)`` of them), largest first;
* JSON: ``{"size": <int>, "hashes": [<base64 root>, ...]}``, same order.

A state is self-authenticating against a signed checkpoint: if its
:meth:`CompactRange.root` equals the checkpoint's root at the same size, or if
appending the following leaves reproduces a later checkpoint's root, it is the
genuine state (forging one would need a SHA-256 preimage).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from auditpipe_common.tlog.codec import b64, decode_b64
from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.merkle import EMPTY_ROOT, HASH_SIZE, MAX_SIZE, hash_children


@dataclass
class CompactRange:
    """Roots of the perfect subtrees covering leaves ``[0, size)``, largest first."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        _validate(self.size, self.hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf (its RFC 6962 leaf hash) at position ``size``."""
        if len(leaf_hash) != HASH_SIZE:
            raise FormatError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf_hash)}")
        if self.size >= MAX_SIZE:
            raise FormatError("the tree is full")
        node, n = leaf_hash, self.size
        while n & 1:
            node = hash_children(self.hashes.pop(), node)
            n >>= 1
        self.hashes.append(node)
        self.size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaves in order."""
        for leaf_hash in leaf_hashes:
            self.append(leaf_hash)

    def root(self) -> bytes:
        """The RFC 6962 Merkle tree hash of the leaves appended so far."""
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = hash_children(left, node)
        return node

    def copy(self) -> CompactRange:
        """An independent copy (appending to it leaves this one unchanged)."""
        return CompactRange(self.size, list(self.hashes))

    def to_bytes(self) -> bytes:
        """The binary form: u64 big-endian size, then the subtree roots."""
        return struct.pack(">Q", self.size) + b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Parse the binary form, raising FormatError if it is not exactly one state."""
        if len(data) < 8 or (len(data) - 8) % HASH_SIZE:
            raise FormatError(f"a tree state cannot be {len(data)} bytes long")
        (size,) = struct.unpack(">Q", data[:8])
        hashes = [data[i : i + HASH_SIZE] for i in range(8, len(data), HASH_SIZE)]
        return cls(size, hashes)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: ``{"size": n, "hashes": [base64, ...]}``."""
        return {"size": self.size, "hashes": [b64(h) for h in self.hashes]}

    @classmethod
    def from_json(cls, obj: Any) -> CompactRange:
        """Parse the JSON form, raising FormatError on anything unexpected."""
        if not isinstance(obj, dict) or set(obj) != {"size", "hashes"}:
            raise FormatError('a tree state is an object with exactly "size" and "hashes"')
        size, hashes = obj["size"], obj["hashes"]
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise FormatError('"hashes" must be a list of base64 strings')
        return cls(size, [decode_b64(h, "tree state hash") for h in hashes])


def _validate(size: object, hashes: list[bytes]) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise FormatError(f"tree size must be an integer in [0, 2^64), got {size!r}")
    if len(hashes) != size.bit_count():
        raise FormatError(f"a tree of size {size} has {size.bit_count()} subtree roots")
    if any(len(h) != HASH_SIZE for h in hashes):
        raise FormatError(f"every subtree root is {HASH_SIZE} bytes")
