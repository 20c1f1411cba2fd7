"""Receipts: ingest's signed statement of exactly which events it accepted.

One signature covers a whole batch: ingest hashes each accepted event
(:func:`~auditpipe_common.tlog.leaf.event_hash`, before any log position
exists), builds an RFC 6962 tree over those hashes in result order, and signs
a note whose text is::

    auditpipe/receipt/v1
    <origin of the tenant's log>
    received-at <RFC 3339 UTC, six fractional digits>
    events <number of events>
    root <base64 root of the tree of event hashes>

The answer to the client carries the signed note once and each accepted
event's hash. The client keeps, per event, an *event receipt* (the note, the
event's position in the batch and its inclusion proof; see
:class:`EventReceipt`), which later proves, together with an inclusion bundle
from the log, that exactly what it sent is in the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from auditpipe_common.schema import AuditEvent
from auditpipe_common.timeutil import TimestampError, format_rfc3339, parse_rfc3339
from auditpipe_common.tlog.bundle import fields, load_json, parse_proof_hashes, text_field
from auditpipe_common.tlog.checkpoint import origin_tenant
from auditpipe_common.tlog.codec import b64, decimal, decode_b64, dumps
from auditpipe_common.tlog.errors import FormatError, ProofError
from auditpipe_common.tlog.leaf import event_hash
from auditpipe_common.tlog.merkle import HASH_SIZE, verify_inclusion
from auditpipe_common.tlog.note import Signer, Verifier, open_note, sign_note
from auditpipe_common.tlog.proofs import MemoryTree

RECEIPT_TAG = "auditpipe/receipt/v1"
EVENT_RECEIPT_FORMAT = "auditpipe/event-receipt/v1"


def receipt_key_name(deployment: str) -> str:
    """The name ingest signs receipts under: ``auditpipe/<deployment>`` (never a log origin)."""
    return f"auditpipe/{deployment}"


_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


@dataclass(frozen=True)
class Receipt:
    """What one signed receipt states: log, receive time, number of events, root."""

    origin: str
    received_at: int
    size: int
    root: bytes

    def body(self) -> str:
        """The note text of this receipt."""
        if not self.origin or any(c < " " for c in self.origin) or self.size < 1:
            raise FormatError("a receipt names a log and covers at least one event")
        lines = [RECEIPT_TAG, self.origin, f"received-at {format_rfc3339(self.received_at)}"]
        lines += [f"events {self.size}", f"root {b64(self.root)}"]
        return "".join(line + "\n" for line in lines)


def parse_receipt_body(text: str) -> Receipt:
    """Parse receipt note text (strict; FormatError if malformed)."""
    lines = text.split("\n")
    if len(lines) != 6 or lines[0] != RECEIPT_TAG or lines[-1] != "":
        raise FormatError(f"not an {RECEIPT_TAG} note")
    labels = ("received-at", "events", "root")
    values = [_labelled(line, label) for line, label in zip(lines[2:5], labels, strict=True)]
    if not _TIME.match(values[0]):
        raise FormatError("receipt received-at must be YYYY-MM-DDTHH:MM:SS.ffffffZ")
    root = decode_b64(values[2], "receipt root")
    if len(root) != HASH_SIZE:
        raise FormatError(f"receipt root must be {HASH_SIZE} bytes")
    receipt = Receipt(
        lines[1], _microseconds(values[0]), decimal(values[1], "receipt events"), root
    )
    if receipt.body() != text:
        raise FormatError("receipt text is not in canonical form")
    return receipt


def _labelled(line: str, label: str) -> str:
    if not line.startswith(label + " "):
        raise FormatError(f"receipt line {line[:40]!r} should start with {label!r}")
    return line[len(label) + 1 :]


def _microseconds(text: str) -> int:
    try:
        return parse_rfc3339(text)
    except TimestampError as exc:
        raise FormatError(f"receipt received-at: {exc}") from None


@dataclass(frozen=True)
class BatchReceipt:
    """What ingest returns for one batch: the signed note and each event's hash."""

    note: str
    event_hashes: tuple[bytes, ...]


def sign_batch_receipt(
    events: Sequence[AuditEvent], origin: str, signers: Sequence[Signer]
) -> BatchReceipt:
    """Sign one receipt for the accepted ``events`` of a batch (in result order).

    All events must have the tenant named by ``origin`` and the same
    ``received_at`` (ingest stamps a batch once).
    """
    if not events or len({ev.received_at for ev in events}) != 1:
        raise FormatError("a receipt covers one or more events with one received_at")
    if any(ev.tenant != origin_tenant(origin) for ev in events):
        raise FormatError(f"every event of a receipt must belong to the log {origin!r}")
    hashes = tuple(event_hash(ev) for ev in events)
    receipt = Receipt(origin, events[0].received_at, len(hashes), MemoryTree(hashes).root())
    return BatchReceipt(sign_note(receipt.body(), signers), hashes)


def open_receipt(message: str | bytes, verifiers: Iterable[Verifier]) -> Receipt:
    """Verify a signed receipt against trusted keys and parse it."""
    return parse_receipt_body(open_note(message, verifiers).text)


@dataclass(frozen=True)
class EventReceipt:
    """The receipt of one event: the signed batch note, its position, its proof."""

    receipt: str
    index: int
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"format", "receipt", "index", "proof"}``."""
        return {
            "format": EVENT_RECEIPT_FORMAT, "receipt": self.receipt, "index": self.index,
            "proof": [b64(h) for h in self.proof],
        }  # fmt: skip

    def dumps(self) -> str:
        """The event receipt as JSON text (the file format)."""
        return dumps(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> EventReceipt:
        """Parse an event receipt object (FormatError if malformed)."""
        obj = fields(obj, EVENT_RECEIPT_FORMAT, ("receipt", "index", "proof"))
        index = obj["index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**64:
            raise FormatError("event receipt index must be an integer in [0, 2^64)")
        return cls(text_field(obj, "receipt"), index, parse_proof_hashes(obj["proof"]))

    @classmethod
    def loads(cls, data: str | bytes) -> EventReceipt:
        """Parse event receipt JSON text."""
        return cls.from_json(load_json(data, "event receipt"))


def event_receipts(batch: BatchReceipt) -> list[EventReceipt]:
    """Split a batch receipt into one receipt per event (done by the client)."""
    tree = MemoryTree(batch.event_hashes)
    return [
        EventReceipt(batch.note, i, tuple(tree.inclusion_proof(i)))
        for i in range(len(batch.event_hashes))
    ]


def verify_event_receipt(
    receipt: EventReceipt, ev: AuditEvent, verifiers: Iterable[Verifier]
) -> Receipt:
    """Check that ``ev`` is exactly the event ``receipt`` was signed for."""
    opened = open_receipt(receipt.receipt, verifiers)
    if ev.tenant != origin_tenant(opened.origin):
        raise ProofError(
            f"an event of tenant {ev.tenant!r} is not in a receipt of {opened.origin!r}"
        )
    if ev.received_at != opened.received_at:
        raise ProofError("the event's received_at differs from the receipt's")
    try:
        verify_inclusion(event_hash(ev), receipt.index, opened.size, receipt.proof, opened.root)
    except ProofError:
        raise ProofError("the event differs from the one the receipt was issued for") from None
    return opened
