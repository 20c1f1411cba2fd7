"""Checkpoints: C2SP ``tlog-checkpoint`` signed notes over a tenant's log.

The note text is::

    <origin>                 e.g. auditpipe/prod/acme
    <tree size>              ASCII decimal, no leading zeros
    <root hash>              standard base64 of the 32-byte RFC 6962 root
    time <RFC 3339 UTC>      auditpipe extension line, e.g. time 2024-05-01T08:00:00.000000Z
    [other extension lines]  kept, not interpreted

The origin of tenant ``t`` in deployment ``d`` is ``auditpipe/<d>/<t>``; the
log's signing key SHOULD be named like the origin (so each tenant gets its own
verifier key string, even when one Ed25519 key signs every tenant's log).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from auditpipe_common.timeutil import TimestampError, check_range, format_rfc3339, parse_rfc3339
from auditpipe_common.tlog.codec import b64, decimal, decode_b64
from auditpipe_common.tlog.errors import FormatError, SignatureError
from auditpipe_common.tlog.merkle import HASH_SIZE
from auditpipe_common.tlog.note import Note, Signer, Verifier, check_key_name, open_note, sign_note

ORIGIN_PREFIX = "auditpipe/"
TIME_PREFIX = "time "
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def log_origin(deployment: str, tenant: str) -> str:
    """The origin (log identity and key name) of ``tenant``'s log in ``deployment``."""
    if "/" in deployment or "/" in tenant or not deployment or not tenant:
        raise FormatError("deployment and tenant must be non-empty and contain no '/'")
    return check_key_name(f"{ORIGIN_PREFIX}{deployment}/{tenant}")


def origin_tenant(origin: str) -> str | None:
    """The tenant named by an auditpipe origin, or None if it is not one."""
    parts = origin.split("/")
    ok = len(parts) == 3 and parts[0] + "/" == ORIGIN_PREFIX and all(parts)
    return parts[2] if ok else None


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size, root, the time it was made, other extension lines."""

    origin: str
    size: int
    root_hash: bytes
    time_us: int | None = None
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise FormatError("checkpoint origin must be one non-empty line")
        if not 0 <= self.size < 2**64:
            raise FormatError(f"checkpoint size {self.size} out of range")
        if len(self.root_hash) != HASH_SIZE:
            raise FormatError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        if any(
            not line or "\n" in line or line.startswith(TIME_PREFIX) for line in self.extensions
        ):
            raise FormatError("extension lines must be non-empty single lines (time is separate)")
        if self.time_us is not None:
            try:
                check_range(self.time_us)
            except TimestampError as exc:
                raise FormatError(f"checkpoint time: {exc}") from None

    def body(self) -> str:
        """The note text of this checkpoint."""
        lines = [self.origin, str(self.size), b64(self.root_hash)]
        if self.time_us is not None:
            lines.append(TIME_PREFIX + format_rfc3339(self.time_us))
        return "".join(line + "\n" for line in [*lines, *self.extensions])


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse the note text of a checkpoint (strict; FormatError if malformed)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise FormatError("checkpoint text is at least three non-empty lines, each ending in \\n")
    size = decimal(lines[1], "checkpoint tree size")
    root = decode_b64(lines[2], "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise FormatError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
    time_us, rest = None, lines[3:-1]
    if rest and rest[0].startswith(TIME_PREFIX):
        time_us, rest = _parse_time(rest[0][len(TIME_PREFIX) :]), rest[1:]
    return Checkpoint(lines[0], size, root, time_us, tuple(rest))


def _parse_time(text: str) -> int:
    if not _TIME.match(text):
        raise FormatError(f"checkpoint time must be YYYY-MM-DDTHH:MM:SS.ffffffZ, got {text!r}")
    try:
        return parse_rfc3339(text)
    except TimestampError as exc:
        raise FormatError(f"checkpoint time {text!r}: {exc}") from None


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> str:
    """The signed note of ``checkpoint`` (one signature line per signer)."""
    return sign_note(checkpoint.body(), signers)


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose signature has been verified, with its note."""

    checkpoint: Checkpoint
    note: Note
    text: str


def open_checkpoint(
    message: str | bytes, verifiers: Iterable[Verifier], *, origin: str | None = None
) -> SignedCheckpoint:
    """Verify a signed checkpoint against trusted keys and parse it.

    With ``origin``, the checkpoint must be for that log. Raises
    SignatureError or FormatError.
    """
    note = open_note(message, verifiers)
    checkpoint = parse_checkpoint_body(note.text)
    if origin is not None and checkpoint.origin != origin:
        raise SignatureError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    text = message.decode("utf-8") if isinstance(message, bytes) else message
    return SignedCheckpoint(checkpoint, note, text)
