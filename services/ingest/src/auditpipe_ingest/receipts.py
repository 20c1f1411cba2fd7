"""Signed receipts: ingest's statement of exactly which events it accepted.

One Ed25519 signature per request covers every accepted event: the note
commits to the RFC 6962 root over the events' hashes (docs/verification.md,
section 6), and the answer carries each event's hash, from which the client
derives a per-event receipt. With the event's inclusion proof from the log, a
client can later show a third party that exactly what it sent was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auditpipe_common.schema import AuditEvent
from auditpipe_common.tlog import (
    BatchReceipt,
    Signer,
    load_private_key,
    log_origin,
    receipt_key_name,
    sign_batch_receipt,
)


class ReceiptSigner:
    """Signs the receipts of one deployment's ingest (:func:`receipt_key_name`)."""

    def __init__(self, key_file: Path, deployment: str) -> None:
        self._deployment = deployment
        self._signer = Signer(receipt_key_name(deployment), load_private_key(key_file))

    def sign(self, tenant: str, accepted: Sequence[AuditEvent]) -> BatchReceipt | None:
        """The receipt of a request's accepted events (None if it accepted none)."""
        if not accepted:
            return None
        return sign_batch_receipt(accepted, log_origin(self._deployment, tenant), [self._signer])
