"""RFC 6962/9162 Merkle hashing and proofs: public vectors, a reference model, properties."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditpipe_cli.datasets import shared_folder
from auditpipe_common.tlog import (
    EMPTY_ROOT,
    CompactRange,
    FormatError,
    ProofError,
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    range_root,
    root_from_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from auditpipe_common.tlog.merkle import split_point


def _vectors_dir() -> Path:
    env = os.environ.get("AUDITPIPE_VECTORS")
    if env:
        return Path(env) / "rfc6962" if (Path(env) / "rfc6962").is_dir() else Path(env)
    return shared_folder("vectors") / "rfc6962"


VECTORS = _vectors_dir()


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(h) for h in value or []]


def test_the_public_vectors_are_present() -> None:
    """Fail, never skip, when the shared RFC 6962 vectors cannot be found."""
    assert (VECTORS / "PROVENANCE.md").is_file(), f"RFC 6962 vectors missing at {VECTORS}"
    assert len(_cases("inclusion")) >= 90
    assert len(_cases("consistency")) >= 90


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text())
    return case


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector(path: Path) -> None:
    c = _load(path)
    args = (_b64(c["leafHash"]), c["leafIdx"], c["treeSize"], _proof(c["proof"]), _b64(c["root"]))
    if c["wantErr"]:
        with pytest.raises((ProofError, FormatError)):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector(path: Path) -> None:
    c = _load(path)
    args = (c["size1"], c["size2"], _proof(c["proof"]), _b64(c["root1"]), _b64(c["root2"]))
    if c["wantErr"]:
        with pytest.raises((ProofError, FormatError)):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# A reference model written straight from the RFC 9162 definitions (recursive).


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = split_point(len(leaves))
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = split_point(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def leaves_of(n: int) -> list[bytes]:
    return [hash_leaf(i.to_bytes(4, "big")) for i in range(n)]


def test_known_roots() -> None:
    """Roots of the classic RFC 6962 test tree (leaves "", 0x00, 0x10, ...)."""
    data = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43"]
    data += [bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
    leaves = [hash_leaf(d) for d in data]
    assert tree_root([]) == EMPTY_ROOT
    assert tree_root(leaves[:1]).hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert tree_root(leaves).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@pytest.mark.parametrize("n", range(0, 40))
def test_compact_range_and_range_root_match_the_reference(n: int) -> None:
    leaves = leaves_of(n)
    tree = CompactRange()
    tree.extend(leaves)
    assert tree.size == n
    assert tree.root() == ref_mth(leaves) == tree_root(leaves)
    assert range_root(lambda a, b: leaves[a:b], 0, n, chunk=3) == ref_mth(leaves)


def test_proofs_match_the_reference_for_every_small_tree() -> None:
    for n in range(1, 34):
        leaves = leaves_of(n)
        for m in range(n):
            assert inclusion_proof(m, n, leaves) == ref_path(m, leaves)
        for m in range(1, n + 1):
            assert consistency_proof(m, n, leaves) == ref_subproof(m, leaves, True)


def test_leaf_source_callable_reads_only_what_it_needs() -> None:
    leaves = leaves_of(1000)
    calls: list[tuple[int, int]] = []

    def get(a: int, b: int) -> list[bytes]:
        calls.append((a, b))
        return leaves[a:b]

    proof = inclusion_proof(700, 1000, get, chunk=64)
    verify_inclusion(leaves[700], 700, 1000, proof, tree_root(leaves))
    assert sum(b - a for a, b in calls) == 999
    assert max(b - a for a, b in calls) <= 64


def test_bad_leaf_source_is_reported() -> None:
    with pytest.raises(FormatError, match="returned"):
        range_root(lambda a, b: [], 0, 3)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (5, 5), (-1, 3), (2**64, 2**64)])
def test_inclusion_proof_rejects_impossible_positions(index: int, size: int) -> None:
    with pytest.raises(FormatError):
        inclusion_proof(index, size, leaves_of(5))


@pytest.mark.parametrize(("m", "n"), [(0, 3), (4, 3), (-1, 2)])
def test_consistency_proof_rejects_impossible_sizes(m: int, n: int) -> None:
    with pytest.raises(FormatError):
        consistency_proof(m, n, leaves_of(5))


def test_verifiers_reject_malformed_arguments() -> None:
    leaves = leaves_of(4)
    root, proof = tree_root(leaves), inclusion_proof(1, 4, leaves)
    with pytest.raises(FormatError):
        verify_inclusion(leaves[1][:31], 1, 4, proof, root)
    with pytest.raises(FormatError):
        verify_inclusion(leaves[1], 1, 4, [*proof[:-1], proof[-1] + b"x"], root)
    with pytest.raises(FormatError):
        verify_inclusion(leaves[1], True, 4, proof, root)
    with pytest.raises(FormatError):
        verify_consistency(1, 2**64, [], root, root)


def test_root_from_inclusion_proof_is_the_root() -> None:
    leaves = leaves_of(11)
    for m in range(11):
        got = root_from_inclusion_proof(leaves[m], m, 11, inclusion_proof(m, 11, leaves))
        assert got == tree_root(leaves)


def _flip(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    out = list(proof)
    h = bytearray(out[which])
    h[bit // 8] ^= 1 << (bit % 8)
    out[which] = bytes(h)
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_inclusion_proof_verifies_and_any_bit_flip_is_rejected(
    n: int, data: st.DataObject
) -> None:
    leaves = leaves_of(n)
    root = tree_root(leaves)
    m = data.draw(st.integers(0, n - 1))
    proof = inclusion_proof(m, n, leaves)
    verify_inclusion(leaves[m], m, n, proof, root)
    bit = data.draw(st.integers(0, 255))
    bad_leaf = bytearray(leaves[m])
    bad_leaf[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ProofError):
        verify_inclusion(bytes(bad_leaf), m, n, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[m], m, n, proof, _flip([root], 0, bit)[0])
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        with pytest.raises(ProofError):
            verify_inclusion(leaves[m], m, n, _flip(proof, which, bit), root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[m], m, n, proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[m], m, n, [*proof, root], root)
    other = data.draw(st.integers(0, n - 1))
    if other != m:
        with pytest.raises(ProofError):
            verify_inclusion(leaves[m], other, n, proof, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_consistency_proof_verifies_and_any_bit_flip_is_rejected(
    n: int, data: st.DataObject
) -> None:
    leaves = leaves_of(n)
    m = data.draw(st.integers(1, n))
    old, new = tree_root(leaves[:m]), tree_root(leaves)
    proof = consistency_proof(m, n, leaves)
    verify_consistency(m, n, proof, old, new)
    bit = data.draw(st.integers(0, 255))
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, _flip([old], 0, bit)[0], new)
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, old, _flip([new], 0, bit)[0])
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        with pytest.raises(ProofError):
            verify_consistency(m, n, _flip(proof, which, bit), old, new)
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof[:-1], old, new)
    if m < n:
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof, new, old)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000), st.integers(0, 200))
def test_compact_range_state_round_trips_and_continues(n: int, more: int) -> None:
    leaves = leaves_of(n + more)
    tree = CompactRange()
    tree.extend(leaves[:n])
    for restored in (
        CompactRange.from_bytes(tree.to_bytes()),
        CompactRange.from_json(tree.to_json()),
    ):
        assert restored == tree
        restored.extend(leaves[n:])
        assert restored.root() == tree_root(leaves)
    assert len(tree.to_bytes()) == 8 + 32 * n.bit_count()


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x00" * 7,
        (3).to_bytes(8, "big") + b"\x00" * 32,
        (2).to_bytes(8, "big") + b"\x00" * 33,
    ],
)
def test_compact_range_rejects_malformed_state(bad: bytes) -> None:
    with pytest.raises(FormatError):
        CompactRange.from_bytes(bad)


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"size": 1},
        {"size": 1, "hashes": []},
        {"size": True, "hashes": []},
        {"size": 1, "hashes": ["not base64!"]},
        {"size": 1, "hashes": ["AAAA"]},
        {"size": 0, "hashes": [], "extra": 1},
    ],
)
def test_compact_range_rejects_malformed_json(bad: Any) -> None:
    with pytest.raises(FormatError):
        CompactRange.from_json(bad)


def test_compact_range_rejects_a_short_leaf_hash_and_copies_are_independent() -> None:
    tree = CompactRange()
    with pytest.raises(FormatError):
        tree.append(b"short")
    tree.append(leaves_of(1)[0])
    copy = tree.copy()
    copy.append(leaves_of(2)[1])
    assert (tree.size, copy.size) == (1, 2)
