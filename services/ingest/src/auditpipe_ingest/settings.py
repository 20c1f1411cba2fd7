"""Ingest settings (``AUDITPIPE_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from auditpipe_common.settings import BaseServiceSettings, HttpSettings, LogSettings
from auditpipe_common.validation import Limits


class IngestSettings(BaseServiceSettings, HttpSettings, LogSettings):
    """Settings of the ingest service."""

    port: int = Field(default=8700, ge=1, le=65535)
    max_event_bytes: int = Field(default=Limits.max_event_bytes, ge=256)
    max_batch_bytes: int = Field(default=Limits.max_batch_bytes, ge=1024)
    max_batch_events: int = Field(default=Limits.max_batch_events, ge=1)
    max_string_chars: int = Field(default=Limits.max_string_chars, ge=16)
    max_attribute_depth: int = Field(default=Limits.max_attribute_depth, ge=1, le=256)
    max_clock_skew_s: int = Field(
        default=300, ge=1, description="Beyond this |received_at - occurred_at|, flag the event."
    )

    max_redis_memory_ratio: float = Field(
        default=0.85,
        gt=0,
        le=1,
        description="Answer 429 while Redis uses more than this share of its maxmemory.",
    )
    max_backlog_batches: int = Field(
        default=50_000,
        ge=1,
        description="Answer 429 while the streams hold more unconsumed batches than this.",
    )
    min_replica_acks: int = Field(
        default=0,
        ge=0,
        description="Acknowledge a batch only once this many Redis replicas hold it (WAIT).",
    )
    replica_ack_timeout_ms: int = Field(
        default=1000, ge=1, description="How long to wait for those replicas before a 503."
    )
    backpressure_interval_s: float = Field(
        default=0.25, ge=0, description="How often ingest samples Redis memory and backlog."
    )
    publish_timeout_s: float = Field(
        default=5.0, gt=0, description="Answer 503 if Redis has not accepted a batch by then."
    )
    receipt_key_file: Path | None = Field(
        default=None,
        description="Ed25519 private key file (PEM or base64 seed) that signs a receipt for "
        "every request's accepted events; without it, answers carry no receipt.",
    )

    def limits(self) -> Limits:
        """The validation limits these settings describe."""
        return Limits(
            max_event_bytes=self.max_event_bytes,
            max_batch_bytes=self.max_batch_bytes,
            max_batch_events=self.max_batch_events,
            max_string_chars=self.max_string_chars,
            max_attribute_depth=self.max_attribute_depth,
        )
