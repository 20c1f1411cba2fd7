"""Errors raised by the SDK."""

from __future__ import annotations


class AuditpipeClientError(Exception):
    """Base class of SDK errors."""


class BufferFullError(AuditpipeClientError):
    """``log()`` could not buffer the event under the configured overflow policy."""


class ClientClosedError(AuditpipeClientError):
    """The client was closed; it accepts no more events."""
