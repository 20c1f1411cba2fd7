"""Synthetic but realistic events: CloudTrail-sized attributes, several tenants."""

from __future__ import annotations

import json
import uuid

from auditpipe_common.schema import AuditEvent, EventBatch
from auditpipe_common.timeutil import now_us

ATTRIBUTES = json.dumps(
    {
        "eventSource": "iam.amazonaws.com",
        "awsRegion": "us-east-1",
        "requestParameters": {
            "userName": "svc-build",
            "path": "/",
            "tags": [{"k": "team", "v": "ci"}],
        },
        "responseElements": None,
        "userAgent": "aws-cli/2.13.0 Python/3.11.4 Linux/6.1 botocore/2.4.5",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"},
        "readOnly": False,
        "big": 2**63 + 7,
    },
    separators=(",", ":"),
)


def make_event(tenant: str, seq: int) -> AuditEvent:
    """One event of about 600 bytes."""
    ev = AuditEvent(
        tenant=tenant,
        seq=seq,
        idempotency_key=str(uuid.uuid4()),
        occurred_at=now_us(),
        received_at=now_us(),
        event="CreateUser",
        action="iam:CreateUser",
        outcome=1,
        request_id=str(uuid.uuid4()),
        attributes=ATTRIBUTES,
    )
    ev.actor.id, ev.actor.type, ev.actor.ip = (
        "arn:aws:iam::123456789012:user/ci",
        "IAMUser",
        "10.1.2.3",
    )
    ev.resource.type, ev.resource.id = "iam:user", "svc-build"
    ev.source.service, ev.source.host = "bench", "bench-host"
    return ev


def make_batches(tenant: str, batches: int, size: int) -> list[EventBatch]:
    """``batches`` batches of ``size`` events with increasing seq."""
    out, seq = [], 0
    for _ in range(batches):
        batch = EventBatch()
        for _ in range(size):
            seq += 1
            batch.events.append(make_event(tenant, seq))
        out.append(batch)
    return out
