"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures.

A signed note is a UTF-8 text ending in a newline, a blank line, and one or
more signature lines ``— <key name> <base64(key ID || signature)>``. The key
ID is ``SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]``. A
verifier key is written ``<name>+<8 hex digits of the key ID>+<base64(0x01 ||
public key)>``. Opening a note checks every signature from a trusted key (one
bad signature rejects the note) and ignores signatures from unknown keys; at
least one trusted signature must verify. Trusting several keys is how key
rotation works: old notes stay verifiable by the old key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from auditpipe_common.tlog.codec import b64, decode_b64
from auditpipe_common.tlog.ed25519 import public_key_problem
from auditpipe_common.tlog.errors import FormatError, SignatureError

ALG_ED25519 = 0x01
MAX_SIGNATURES = 100
SIG_PREFIX = "\u2014 "  # em dash, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8 = re.compile(r"^[0-9a-f]{8}$")


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid note key name (non-empty, no spaces, no ``+``)."""
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise FormatError(f"invalid key name {name!r}: non-empty, no spaces, no '+'")
    return name


def key_id(name: str, public_key: bytes) -> int:
    """The signed-note key ID of an Ed25519 key, as a 32-bit integer."""
    material = name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key
    return int.from_bytes(hashlib.sha256(material).digest()[:4], "big")


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32-byte RFC 8032 encoding of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 key under a name: what checks signatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        problem = public_key_problem(self.public_key)
        if problem:
            raise FormatError(f"verifier key {self.name}: {problem}")

    @property
    def key_id(self) -> int:
        """The signed-note key ID."""
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        """The verifier key string ``<name>+<hex key ID>+<base64(0x01 || key)>``."""
        return f"{self.name}+{self.key_id:08x}+{b64(bytes([ALG_ED25519]) + self.public_key)}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Parse a verifier key string, checking that its key ID matches the key."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not _HEX8.match(parts[1]):
            raise FormatError("a verifier key is <name>+<8 lower-case hex digits>+<base64 key>")
        name, id_hex, key_b64 = check_key_name(parts[0]), parts[1], parts[2]
        raw = decode_b64(key_b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise FormatError("verifier key is not an Ed25519 key (0x01 || 32 bytes)")
        verifier = cls(name, raw[1:])
        if verifier.key_id != int(id_hex, 16):
            raise FormatError(f"verifier key {name}: key ID {id_hex} does not match the key")
        return verifier

    def check(self, text: bytes, signature: bytes) -> bool:
        """True if ``signature`` is this key's Ed25519 signature of ``text``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key under a name: what signs notes."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_key_name(self.name)

    @cached_property
    def _key_id(self) -> bytes:
        return self.verifier().key_id.to_bytes(4, "big")

    def verifier(self) -> Verifier:
        """The matching verifier (public half)."""
        return Verifier(self.name, raw_public_key(self.private_key.public_key()))

    def signature_line(self, text: str) -> str:
        """The signature line for note ``text`` (which must end in a newline)."""
        sig = self.private_key.sign(text.encode("utf-8"))
        return f"{SIG_PREFIX}{self.name} {b64(self._key_id + sig)}\n"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note, not yet checked."""

    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    """An opened note: its text, all its signatures, and the trusted keys that signed it."""

    text: str
    signatures: tuple[NoteSignature, ...]
    verified_by: tuple[Verifier, ...]


def check_text(text: str) -> None:
    """Reject note text that is empty, lacks the final newline or has control characters."""
    if not text.endswith("\n") or text == "\n":
        raise FormatError("note text must be non-empty and end with a newline")
    if _CONTROL.search(text):
        raise FormatError("note contains an ASCII control character other than newline")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """The signed note: ``text``, a blank line, one signature line per signer."""
    check_text(text)
    if not signers:
        raise ValueError("a note needs at least one signer")
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


def split_note(message: str | bytes) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and parsed (unchecked) signatures."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("note is not valid UTF-8") from None
    check_text(message)
    cut = message.rfind("\n\n")
    if cut < 0:
        raise FormatError("note has no blank line before its signatures")
    text, block = message[: cut + 1], message[cut + 2 :]
    lines = block.split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURES:
        raise FormatError(f"note must have 1 to {MAX_SIGNATURES} signature lines")
    return text, [_parse_signature(line) for line in lines]


def _parse_signature(line: str) -> NoteSignature:
    fields = line.removeprefix(SIG_PREFIX).split(" ")
    if not line.startswith(SIG_PREFIX) or len(fields) != 2:
        raise FormatError(f"malformed signature line {line[:60]!r}")
    name, raw = check_key_name(fields[0]), decode_b64(fields[1], "signature")
    if len(raw) < 5:
        raise FormatError("signature is too short")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def open_note(message: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse a signed note and check its signatures against the trusted ``verifiers``.

    Raises SignatureError if a trusted key's signature is invalid or if no
    trusted key signed the note; FormatError if the note is malformed.
    """
    text, signatures = split_note(message)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[Verifier] = []
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.check(text.encode("utf-8"), sig.signature):
            raise SignatureError(f"invalid signature by trusted key {sig.name}+{sig.key_id:08x}")
        verified.append(verifier)
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in signatures)
        raise SignatureError(f"no signature from a trusted key (signed by: {names})")
    return Note(text, tuple(signatures), tuple(verified))
