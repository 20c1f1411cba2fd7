"""The error vocabulary shared by every auditpipe component.

Library exceptions (redis-py, clickhouse-connect, httpx) are wrapped at the
edge into these, so callers decide between *retry* and *give up* without
knowing which library failed:

* :class:`TransientError` — worth retrying (connection refused, timeout,
  store temporarily unavailable).
* :class:`PermanentError` — retrying the same input cannot succeed (bad data,
  schema mismatch); the input goes to a dead-letter stream or back to the
  caller with a reason.
* :class:`EventError` — one event of a batch is invalid; carries a
  machine-readable ``code``, the offending ``field`` and a ``reason``.
"""

from __future__ import annotations


class AuditpipeError(Exception):
    """Base class of all auditpipe errors."""


class TransientError(AuditpipeError):
    """A failure that may succeed when retried."""


class PermanentError(AuditpipeError):
    """A failure that retrying the same input cannot fix."""


class EventError(PermanentError):
    """One invalid event: ``code`` is stable and machine-readable."""

    def __init__(self, code: str, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.code = code
        self.field = field
        self.reason = reason
