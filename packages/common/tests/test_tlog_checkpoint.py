"""Checkpoints (C2SP tlog-checkpoint) and key files."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from auditpipe_common.tlog import (
    Checkpoint,
    FormatError,
    SignatureError,
    Signer,
    Verifier,
    generate_key_file,
    load_private_key,
    load_signer,
    log_origin,
    open_checkpoint,
    origin_tenant,
    parse_checkpoint_body,
    parse_private_key,
    private_key_pem,
    sign_checkpoint,
    verifier_key,
)
from auditpipe_common.tlog.codec import b64

ROOT = hashlib.sha256(b"root").digest()
ORIGIN = "auditpipe/test/acme"


def key(seed: int = 1) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def test_body_is_the_c2sp_layout_with_a_time_line() -> None:
    cp = Checkpoint(ORIGIN, 20852163, ROOT, 1_714_550_400_000_001, ("x-other 1",))
    assert cp.body() == (
        f"{ORIGIN}\n20852163\n{b64(ROOT)}\ntime 2024-05-01T08:00:00.000001Z\nx-other 1\n"
    )
    assert parse_checkpoint_body(cp.body()) == cp
    bare = Checkpoint(ORIGIN, 0, ROOT)
    assert bare.body() == f"{ORIGIN}\n0\n{b64(ROOT)}\n"
    assert parse_checkpoint_body(bare.body()) == bare


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n01\n{b64(ROOT)}\n",
        f"{ORIGIN}\n-1\n{b64(ROOT)}\n",
        f"{ORIGIN}\n18446744073709551616\n{b64(ROOT)}\n",
        f"{ORIGIN}\n1 \n{b64(ROOT)}\n",
        f"{ORIGIN}\n1\n{b64(ROOT[:31])}\n",
        f"{ORIGIN}\n1\n{b64(ROOT)[:-1]}\n",
        f"{ORIGIN}\n1\n",
        f"\n1\n{b64(ROOT)}\n",
        f"{ORIGIN}\n1\n{b64(ROOT)}\n\nx\n",
        f"{ORIGIN}\n1\n{b64(ROOT)}",
        f"{ORIGIN}\n1\n{b64(ROOT)}\ntime 2024-05-01T08:00:00Z\n",
        f"{ORIGIN}\n1\n{b64(ROOT)}\ntime 2400-05-01T08:00:00.000000Z\n",
        f"{ORIGIN}\n1\n{b64(ROOT)}\nx-other\ntime 2024-05-01T08:00:00.000000Z\n",
    ],
)
def test_malformed_bodies(body: str) -> None:
    with pytest.raises(FormatError):
        parse_checkpoint_body(body)


def test_checkpoint_constructor_checks_its_fields() -> None:
    for args in [("", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 1, ROOT[:5]), ("a\nb", 1, ROOT)]:
        with pytest.raises(FormatError):
            Checkpoint(*args)
    with pytest.raises(FormatError):
        Checkpoint(ORIGIN, 1, ROOT, extensions=("",))
    with pytest.raises(FormatError):
        Checkpoint(ORIGIN, 1, ROOT, time_us=-1)


def test_sign_and_open_with_origin_and_rotation() -> None:
    old, new = Signer(ORIGIN, key(1)), Signer(ORIGIN, key(2))
    cp = Checkpoint(ORIGIN, 5, ROOT, 1_714_550_400_000_000)
    text = sign_checkpoint(cp, [old])
    assert text.startswith(cp.body() + "\n— auditpipe/test/acme ")
    trusted = [old.verifier(), new.verifier()]
    opened = open_checkpoint(text, trusted, origin=ORIGIN)
    assert (opened.checkpoint, opened.text) == (cp, text)
    assert open_checkpoint(text.encode(), trusted).checkpoint == cp
    with pytest.raises(SignatureError, match="expected"):
        open_checkpoint(text, trusted, origin="auditpipe/test/globex")
    with pytest.raises(SignatureError):
        open_checkpoint(text, [new.verifier()])
    forged = text.replace("\n5\n", "\n6\n")
    with pytest.raises(SignatureError):
        open_checkpoint(forged, trusted)


def test_origins() -> None:
    assert log_origin("prod", "acme") == "auditpipe/prod/acme"
    assert origin_tenant("auditpipe/prod/acme") == "acme"
    for bad in ["example.com/log", "auditpipe/prod", "auditpipe//acme", "x/prod/acme"]:
        assert origin_tenant(bad) is None
    for deployment, tenant in [("", "a"), ("a/b", "c"), ("p", ""), ("p", "a b")]:
        with pytest.raises(FormatError):
            log_origin(deployment, tenant)


def test_key_files_pem_and_base64_seed(tmp_path: Path) -> None:
    path = tmp_path / "log.key"
    generated = generate_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(path)
    assert private_key_pem(loaded) == private_key_pem(generated)
    with pytest.raises(FileExistsError):
        generate_key_file(path)
    seed_file = tmp_path / "seed.b64"
    seed_file.write_text(b64(bytes([1]) * 32) + "\n")
    assert (
        verifier_key(load_private_key(seed_file), ORIGIN)
        == Signer(ORIGIN, key(1)).verifier().encode()
    )
    signer = load_signer(path, ORIGIN)
    assert Verifier.parse(verifier_key(generated, ORIGIN)) == signer.verifier()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a key",
        b64(bytes(31)).encode(),
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"\xff\xfe",
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ),
    ],
)
def test_bad_private_keys(data: bytes) -> None:
    with pytest.raises(FormatError):
        parse_private_key(data)
