"""Ed25519 signing keys for checkpoints and receipts: files, generation, verifier keys.

A private key file (or the file a Kubernetes Secret is mounted as) holds
either

* a PEM ``PRIVATE KEY`` block (PKCS #8, unencrypted) — what :func:`generate_key_file`
  and ``openssl genpkey -algorithm ed25519`` write; or
* the 32-byte Ed25519 seed (RFC 8032 private key) in standard base64, alone
  on one line.

The key carries no name: the name is given when a :class:`Signer` is made,
and the same key may sign under several names (one per tenant origin).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from auditpipe_common.tlog.codec import b64, decode_b64
from auditpipe_common.tlog.errors import FormatError
from auditpipe_common.tlog.note import ALG_ED25519, Signer, Verifier, raw_public_key


def parse_private_key(data: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM PKCS #8 or a base64 32-byte seed."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as exc:
            raise FormatError(f"unreadable PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise FormatError("the PEM private key is not an Ed25519 key")
        return key
    try:
        seed = decode_b64(text.decode("ascii"), "private key seed")
    except UnicodeDecodeError:
        raise FormatError("a private key file is PEM or a base64 seed") from None
    if len(seed) != 32:
        raise FormatError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read a private key file (PEM PKCS #8 or base64 seed)."""
    return parse_private_key(Path(path).read_bytes())


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The unencrypted PEM PKCS #8 encoding of ``key``."""
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def generate_key_file(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Create a new key and write it as PEM to ``path`` (mode 0600, never overwrites)."""
    key = Ed25519PrivateKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_pem(key))
    return key


def load_signer(path: str | os.PathLike[str], name: str) -> Signer:
    """A signer for key name ``name`` from the private key file at ``path``."""
    return Signer(name, load_private_key(path))


def verifier_key(key: Ed25519PrivateKey, name: str) -> str:
    """The verifier key string (``<name>+<key ID>+<base64>``) of ``key`` under ``name``."""
    return Verifier(name, raw_public_key(key.public_key())).encode()


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public half as ``base64(0x01 || 32-byte key)``: the last part of a verifier key."""
    return b64(bytes([ALG_ED25519]) + raw_public_key(key.public_key()))


_VERIFIER_KEY = re.compile(r"^[^+\s]+\+[0-9a-f]{8}\+")


def parse_public_key(text: str) -> bytes:
    """A raw Ed25519 public key from a verifier key string (its name is ignored) or its base64.

    The base64 may be of the 32-byte key or of ``0x01 || key`` (a verifier key's last part).
    """
    text = text.strip()
    if _VERIFIER_KEY.match(text):  # name+keyid+... (a bare base64 key may hold '+' too)
        return Verifier.parse(text).public_key
    raw = decode_b64(text, "public key")
    if len(raw) == 33 and raw[0] == ALG_ED25519:
        raw = raw[1:]
    if len(raw) != 32:
        raise FormatError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return raw


def verifiers_for(origin: str, public_keys: Sequence[bytes]) -> list[Verifier]:
    """The verifiers of one log (named after its origin) for the deployment's public keys."""
    return [Verifier(origin, key) for key in public_keys]
