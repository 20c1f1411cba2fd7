"""C2SP signed notes: the Go reference vector, key strings, rotation, malformed notes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.tlog import (
    FormatError,
    SignatureError,
    Signer,
    Verifier,
    open_note,
    sign_note,
)
from auditpipe_common.tlog.note import check_key_name, key_id, split_note

# The example of golang.org/x/mod/sumdb/note (its documentation and tests): an
# independent implementation of the same format. Ed25519 signing is
# deterministic, so signing the same text with the same key must give these bytes.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_signer() -> Signer:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(raw[1:]))


def signer(name: str = "auditpipe/test/acme", seed: int = 1) -> Signer:
    return Signer(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def test_go_reference_note_is_reproduced_and_verified() -> None:
    s = go_signer()
    assert s.verifier().encode() == GO_VKEY
    assert f"{s.verifier().key_id:08x}" == "c74f20a3"
    assert sign_note(GO_TEXT, [s]) == GO_NOTE
    note = open_note(GO_NOTE, [Verifier.parse(GO_VKEY)])
    assert note.text == GO_TEXT
    assert [v.name for v in note.verified_by] == ["PeterNeumann"]
    with pytest.raises(SignatureError, match="invalid signature"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [Verifier.parse(GO_VKEY)])


def test_a_verifier_key_whose_base64_contains_a_plus() -> None:
    # From the tests of transparency-dev/formats (note/note_cosigv1_test.go).
    vkey = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    assert Verifier.parse(vkey).encode() == vkey


def test_key_id_definition() -> None:
    import hashlib

    pub = signer().verifier().public_key
    want = hashlib.sha256(b"auditpipe/test/acme\n\x01" + pub).digest()[:4]
    assert key_id("auditpipe/test/acme", pub) == int.from_bytes(want, "big")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\tname", "nbsp\u00a0name", "a\nb"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(FormatError):
        check_key_name(name)


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case hex
        "PeterNeumann+c74f20a3+AhpczQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other algorithm
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+x",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys(vkey: str) -> None:
    with pytest.raises(FormatError):
        Verifier.parse(vkey)


def test_rotation_old_notes_stay_verifiable_and_both_keys_may_sign() -> None:
    old, new = signer(seed=1), signer(seed=2)
    assert old.verifier().key_id != new.verifier().key_id
    trusted = [old.verifier(), new.verifier()]
    note_old, note_new = sign_note("a\n", [old]), sign_note("b\n", [new])
    assert open_note(note_old, trusted).verified_by == (old.verifier(),)
    assert open_note(note_new, trusted).verified_by == (new.verifier(),)
    both = open_note(sign_note("c\n", [old, new]), trusted)
    assert set(both.verified_by) == set(trusted)
    with pytest.raises(SignatureError, match="no signature from a trusted key"):
        open_note(note_old, [new.verifier()])


def test_unknown_signatures_are_ignored_but_one_trusted_is_needed() -> None:
    mine, theirs = signer(seed=1), signer("witness.example/w1", seed=3)
    note = sign_note("text\n", [theirs, mine])
    assert open_note(note, [mine.verifier()]).verified_by == (mine.verifier(),)
    assert len(open_note(note, [mine.verifier()]).signatures) == 2
    # Same name, different key: a different key ID, so an unknown key.
    impostor = signer(seed=9)
    with pytest.raises(SignatureError):
        open_note(sign_note("text\n", [impostor]), [mine.verifier()])


def test_a_bad_signature_from_a_trusted_key_rejects_the_note() -> None:
    good, other = signer(seed=1), signer("other", seed=2)
    line = good.signature_line("forged\n")
    note = sign_note("text\n", [other]) + line
    with pytest.raises(SignatureError, match="invalid signature"):
        open_note(note, [good.verifier(), other.verifier()])


def test_text_may_contain_blank_lines_the_last_one_separates() -> None:
    s = signer()
    text = "para one\n\npara two\n"
    assert open_note(sign_note(text, [s]), [s.verifier()]).text == text


@pytest.mark.parametrize(
    "message",
    [
        "no blank line\n— x AAAAAAAA\n",
        "text\n\n",
        "text\n\n— x AAAAAAAA",
        "text\n\n- x AAAAAAAAAA==\n",
        "text\n\n— x  AAAAAAAAAA==\n",
        "text\n\n— x AAAA\n",
        "text\n\n— x not-base64\n",
        "te\x01xt\n\n— x AAAAAAAAAA==\n",
        "text\r\n\n— x AAAAAAAAAA==\n",
        "text\n\n" + "— x AAAAAAAAAA==\n" * 101,
        b"text\xff\n\n\xe2\x80\x94 x AAAAAAAAAA==\n",
        "",
    ],
)
def test_malformed_notes(message: str | bytes) -> None:
    with pytest.raises(FormatError):
        split_note(message)


def test_sign_note_checks_its_input() -> None:
    with pytest.raises(FormatError):
        sign_note("no newline", [signer()])
    with pytest.raises(ValueError, match="at least one signer"):
        sign_note("text\n", [])
    with pytest.raises(FormatError):
        Signer("bad name", Ed25519PrivateKey.generate())


SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]
NOT_CANONICAL = [
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  # y >= p
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # y = p
    "0100000000000000000000000000000000000000000000000000000000000080",  # x = 0, sign 1
    "0200000000000000000000000000000000000000000000000000000000000000",  # not on the curve
]


@pytest.mark.parametrize("hex_key", SMALL_ORDER + NOT_CANONICAL)
def test_unsafe_public_keys_are_refused(hex_key: str) -> None:
    # A signature of zeros verifies for every message under the all-zero key:
    # such keys must never be trusted.
    with pytest.raises(FormatError):
        Verifier("auditpipe/test/acme", bytes.fromhex(hex_key))
    raw = base64.b64encode(b"\x01" + bytes.fromhex(hex_key)).decode()
    with pytest.raises(FormatError):
        Verifier.parse(f"x+00000000+{raw}")


def test_real_keys_are_accepted() -> None:
    for _ in range(50):
        Signer("n", Ed25519PrivateKey.generate()).verifier()
