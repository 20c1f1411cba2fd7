"""Worker settings (``AUDITPIPE_*`` environment variables)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field

from auditpipe_common.settings import BaseServiceSettings, LogSettings, StoreSettings
from auditpipe_worker.faults import StoreFault


def _default_consumer() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(BaseServiceSettings, StoreSettings, LogSettings):
    """Settings of the worker."""

    consumer: str = Field(default_factory=_default_consumer, min_length=1)
    batch_rows: int = Field(default=20_000, ge=1, description="Rows per store insert (target).")
    batch_wait_ms: int = Field(default=250, ge=1, description="Longest wait to fill a batch.")
    read_count: int = Field(default=200, ge=1, description="Stream entries per XREADGROUP.")
    lease_ms: int = Field(default=10_000, ge=1000, description="Shard lease lifetime.")
    retry_max_ms: int = Field(default=5_000, ge=10, description="Longest store retry backoff.")
    max_attempts: int = Field(
        default=5,
        ge=1,
        description="Tries of one entry on its own, after its batch failed, before the entry "
        "goes to the dead-letter stream with the last error.",
    )
    fault_kill_after_insert: bool = Field(
        default=False,
        description="Fault injection for tests only: SIGKILL this process after an insert, "
        "before the acknowledgement. Never set it in production.",
    )
    fault_kill_before_insert: bool = Field(
        default=False,
        description="Fault injection for tests only: SIGKILL this process when it has read "
        "a batch, before inserting it. Never set it in production.",
    )
    fault_kill_after_log_commit: bool = Field(
        default=False,
        description="Fault injection for tests only: SIGKILL this process once a batch's log "
        "positions are committed in Redis, before its rows are stored. Never set it in production.",
    )
    fault_store_unavailable_s: float = Field(
        default=0.0,
        ge=0,
        description="Fault injection for tests only: the store fails as unavailable for this "
        "many seconds after start. Never set it in production.",
    )
    fault_store_mode: StoreFault = Field(
        default="unavailable",
        description="Fault injection for tests only: how the store fails while "
        "fault_store_unavailable_s lasts.",
    )
    log_enabled: bool = Field(
        default=True,
        description="Append stored events to the tenants' verifiable logs. Switch off only to "
        "measure what the log costs: events stored without it have no log position.",
    )
    log_key_files: list[Path] = Field(
        default_factory=list,
        description="Ed25519 private key files (PEM or base64 seed) that sign checkpoints, "
        'JSON list; every key signs (two keys during a rotation). Example: ["/keys/log.pem"].',
    )
    checkpoint_events: int = Field(default=10_000, ge=1, description="Sign after this many.")
    checkpoint_interval_s: float = Field(
        default=10.0, gt=0, description="Sign at least this often while a log grows."
    )
    tenant_retention_days: dict[str, int] = Field(
        default_factory=dict, description='Per-tenant retention, JSON: {"tenant": days}.'
    )

    def retention_for(self, tenant: str) -> int:
        """Retention in days of one tenant."""
        return self.tenant_retention_days.get(tenant, self.retention_days)
