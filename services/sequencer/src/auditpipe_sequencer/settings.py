"""Sequencer settings (``AUDITPIPE_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from auditpipe_common.settings import BaseServiceSettings, HttpSettings


class SequencerSettings(BaseServiceSettings, HttpSettings):
    """Settings of the sequencer service."""

    port: int = Field(default=8701, ge=1, le=65535)
    max_range: int = Field(default=10_000, ge=1, description="Largest range one call may take.")
    reservations_path: Path = Field(
        default=Path(".auditpipe/sequencer/reservations.json"),
        description="Durable high-water marks; must survive what Redis may lose.",
    )
    reserve_block: int = Field(
        default=100_000, ge=1, description="How far ahead a reservation is raised at a time."
    )
    fencing: bool = Field(
        default=False,
        description="Claim a fencing epoch at start: a sequencer started later against the same "
        "Redis and reservations fences this one for good (Kubernetes runs one at a time).",
    )
