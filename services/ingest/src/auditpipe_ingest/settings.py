"""Ingest settings (``AUDITPIPE_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from auditpipe_common.settings import BaseServiceSettings, HttpSettings
from auditpipe_common.validation import Limits


class IngestSettings(BaseServiceSettings, HttpSettings):
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

    def limits(self) -> Limits:
        """The validation limits these settings describe."""
        return Limits(
            max_event_bytes=self.max_event_bytes,
            max_batch_bytes=self.max_batch_bytes,
            max_batch_events=self.max_batch_events,
            max_string_chars=self.max_string_chars,
            max_attribute_depth=self.max_attribute_depth,
        )
