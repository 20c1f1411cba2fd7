"""Merkle tree hashes and proofs computed from the leaf hashes of a log.

The leaves come from a *leaf source*: either a sequence of leaf hashes
(``source[i]`` is leaf ``i``) or a callable ``get(start, end)`` returning the
hashes of leaves ``start .. end-1`` in order (for example one range query on
the store). Ranges are read in chunks of at most ``chunk`` leaves and folded
into a :class:`CompactRange`, so memory stays O(chunk + log n) whatever the
tree size. The proofs follow RFC 9162 sections 2.1.3.1 (``PATH``) and 2.1.4.1
(``PROOF``/``SUBPROOF``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from auditpipe_common.tlog.compact import CompactRange
from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.merkle import EMPTY_ROOT, HASH_SIZE, MAX_SIZE, hash_children, split_point

LeafSource = Sequence[bytes] | Callable[[int, int], Sequence[bytes]]
DEFAULT_CHUNK = 65536


def _read(source: LeafSource, start: int, end: int) -> Sequence[bytes]:
    hashes = source[start:end] if isinstance(source, Sequence) else source(start, end)
    if len(hashes) != end - start:
        raise FormatError(f"leaf source returned {len(hashes)} hashes for [{start}, {end})")
    return hashes


def range_root(source: LeafSource, start: int, end: int, *, chunk: int = DEFAULT_CHUNK) -> bytes:
    """The Merkle tree hash of leaves ``[start, end)`` taken as a tree of their own."""
    if not 0 <= start <= end <= MAX_SIZE:
        raise FormatError(f"invalid leaf range [{start}, {end})")
    tree = CompactRange()
    for lo in range(start, end, chunk):
        tree.extend(_read(source, lo, min(lo + chunk, end)))
    return tree.root()


def tree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash (MTH) of a list of leaf hashes."""
    return range_root(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(
    index: int, size: int, source: LeafSource, *, chunk: int = DEFAULT_CHUNK
) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of the first ``size`` leaves.

    Reads ``size - 1`` leaf hashes in total (every leaf but ``index``).
    """
    if not 0 <= index < size <= MAX_SIZE:
        raise FormatError(f"leaf index {index} is not in a tree of size {size}")
    lo, hi, siblings = 0, size, []
    while hi - lo > 1:
        k = lo + split_point(hi - lo)
        if index < k:
            siblings.append((k, hi))
            hi = k
        else:
            siblings.append((lo, k))
            lo = k
    return [range_root(source, a, b, chunk=chunk) for a, b in reversed(siblings)]


def consistency_proof(
    old_size: int, new_size: int, source: LeafSource, *, chunk: int = DEFAULT_CHUNK
) -> list[bytes]:
    """The consistency proof from the tree of ``old_size`` leaves to that of ``new_size``.

    Empty when the sizes are equal. ``old_size`` must be at least 1: nothing
    needs proving about the empty tree.
    """
    if not 0 < old_size <= new_size <= MAX_SIZE:
        raise FormatError(f"no consistency proof from size {old_size} to size {new_size}")
    lo, hi, complete, ranges = 0, new_size, True, []
    while old_size < hi:
        k = lo + split_point(hi - lo)
        if old_size <= k:
            ranges.append((k, hi))
            hi = k
        else:
            ranges.append((lo, k))
            lo, complete = k, False
    if not complete:
        ranges.append((lo, hi))
    return [range_root(source, a, b, chunk=chunk) for a, b in reversed(ranges)]


class MemoryTree:
    """A whole small tree in memory (one ingest batch): the root and every proof.

    Builds the levels bottom-up, pairing nodes and carrying an unpaired last
    node up unchanged, which gives exactly the RFC 6962 tree. Costs n - 1
    node hashes once; each inclusion proof is then O(log n) lookups.
    """

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        if any(len(h) != HASH_SIZE for h in leaf_hashes):
            raise FormatError(f"every leaf hash is {HASH_SIZE} bytes")
        self.levels = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            above = [hash_children(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            self.levels.append(above + below[-1:] if len(below) % 2 else above)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self.levels[0])

    def root(self) -> bytes:
        """The Merkle tree hash of the leaves."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The RFC 9162 inclusion proof of leaf ``index``."""
        if not 0 <= index < self.size:
            raise FormatError(f"leaf index {index} is not in a tree of size {self.size}")
        proof = []
        for level in self.levels[:-1]:
            if index ^ 1 < len(level):
                proof.append(level[index ^ 1])
            index >>= 1
        return proof
