"""Client configuration."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditpipe.report import BatchReport


class Overflow(StrEnum):
    """What ``log()`` does when the buffer holds ``max_buffer`` events.

    * ``BLOCK`` (default): wait up to ``block_timeout`` seconds for room, then
      raise :class:`BufferFullError`. Nothing is lost without the caller
      knowing; the application slows down instead.
    * ``RAISE``: raise :class:`BufferFullError` at once.
    * ``DROP_NEWEST``: discard the new event, count it in ``stats.dropped``
      and report it to ``on_report``. Only for callers that prefer losing
      audit events to waiting.
    """

    BLOCK = "block"
    RAISE = "raise"
    DROP_NEWEST = "drop_newest"


@dataclass
class ClientConfig:
    """How an :class:`AuditClient` reaches auditpipe and batches events.

    ``ingest_url`` and ``sequencer_url`` default to ``AUDITPIPE_INGEST_URL``
    and ``AUDITPIPE_SEQUENCER_URL``; ``api_key`` to ``AUDITPIPE_API_KEY``.
    """

    ingest_url: str = field(
        default_factory=lambda: os.environ.get("AUDITPIPE_INGEST_URL", "http://127.0.0.1:8700")
    )
    sequencer_url: str = field(
        default_factory=lambda: os.environ.get("AUDITPIPE_SEQUENCER_URL", "http://127.0.0.1:8701")
    )
    api_key: str = field(default_factory=lambda: os.environ.get("AUDITPIPE_API_KEY", ""))
    batch_size: int = 500
    max_batch_bytes: int = 4 * 1024 * 1024
    flush_interval: float = 1.0
    max_buffer: int = 50_000
    overflow: Overflow = Overflow.BLOCK
    block_timeout: float = 30.0
    retry_deadline: float = 300.0
    backoff_initial: float = 0.1
    backoff_max: float = 10.0
    request_timeout: float = 10.0
    service: str = ""
    host: str = field(default_factory=socket.gethostname)
    on_report: Callable[[BatchReport], None] | None = None

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key is required (or set AUDITPIPE_API_KEY)")
        if self.batch_size < 1 or self.max_buffer < self.batch_size:
            raise ValueError("need 1 <= batch_size <= max_buffer")
        self.overflow = Overflow(self.overflow)
