"""auditpipe: the Python SDK.

>>> from auditpipe import AuditClient
>>> with AuditClient(api_key="ap_...", service="billing") as audit:   # doctest: +SKIP
...     audit.log("invoice.approve", actor={"id": "u-42", "type": "user"},
...               resource={"type": "invoice", "id": "inv-7"}, outcome="success")

Events are buffered and delivered in batches by a background thread; see
:class:`AuditClient` and :class:`ClientConfig` for batching, retries and the
overflow policy.
"""

from auditpipe.aio import AsyncAuditClient
from auditpipe.client import AuditClient
from auditpipe.config import ClientConfig, Overflow
from auditpipe.core import CLOCK_HEADER
from auditpipe.errors import AuditpipeClientError, BufferFullError, ClientClosedError
from auditpipe.events import build_event, uuid7
from auditpipe.report import BatchReport, Rejection, Stats

__all__ = [
    "CLOCK_HEADER",
    "AsyncAuditClient",
    "AuditClient",
    "AuditpipeClientError",
    "BatchReport",
    "BufferFullError",
    "ClientClosedError",
    "ClientConfig",
    "Overflow",
    "Rejection",
    "Stats",
    "build_event",
    "uuid7",
]
