"""The auditpipe wire schema (generated from ``proto/``; see ``make generate``)."""

from auditpipe_common.schema.v1.events_pb2 import (
    Actor,
    AuditEvent,
    BatchResult,
    EventBatch,
    EventBatchFrames,
    EventResult,
    EventStatus,
    Outcome,
    Resource,
    Source,
)

__all__ = [
    "Actor",
    "AuditEvent",
    "BatchResult",
    "EventBatch",
    "EventBatchFrames",
    "EventResult",
    "EventStatus",
    "Outcome",
    "Resource",
    "Source",
]
