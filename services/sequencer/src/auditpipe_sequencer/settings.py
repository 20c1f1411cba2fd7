"""Sequencer settings (``AUDITPIPE_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from auditpipe_common.settings import BaseServiceSettings, HttpSettings


class SequencerSettings(BaseServiceSettings, HttpSettings):
    """Settings of the sequencer service."""

    port: int = Field(default=8701, ge=1, le=65535)
    max_range: int = Field(default=10_000, ge=1, description="Largest range one call may take.")
