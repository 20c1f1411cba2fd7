"""Delivery of one batch, written once for the sync and the async client.

:func:`deliver` is a generator that yields the I/O it needs — an HTTP call
or a pause — and receives the result, so the retry policy lives in one
place and the two clients only differ in how they perform a step:

1. get a contiguous range of sequence numbers for the whole batch (numbers
   are strictly above the highest one this client has seen, which is what
   keeps causal order across processes);
2. send the batch; retry transient failures (connection errors, 429, 5xx)
   with capped exponential backoff and jitter, honouring ``Retry-After``,
   always with the *same* bytes — same idempotency keys and sequence numbers;
3. read the per-event results.
"""

from __future__ import annotations

import random
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from auditpipe.config import ClientConfig
from auditpipe.report import BatchReport, Rejection
from auditpipe_common.schema import AuditEvent, BatchResult, EventBatch, EventStatus
from auditpipe_common.tlog import BatchReceipt, event_receipts

PROTOBUF = "application/x-protobuf"
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class HttpCall:
    """Perform a POST; send back an :class:`HttpAnswer` or the exception raised."""

    url: str
    headers: dict[str, str]
    content: bytes = b""
    json: dict[str, Any] | None = None


@dataclass
class HttpAnswer:
    """What an HTTP call returned."""

    status: int
    headers: dict[str, str]
    content: bytes
    json: Any = None


@dataclass
class Pause:
    """Sleep this many seconds, then send back None."""

    seconds: float


Step = HttpCall | Pause
Reply = HttpAnswer | Exception | None


class DeliveryFailed(Exception):
    """A batch could not be delivered; every event in it is reported failed."""


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter, bounded by a deadline."""

    cfg: ClientConfig
    deadline: float = field(default=0.0)
    attempt: int = 0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.cfg.retry_deadline

    def next_pause(self, retry_after: str | None, why: str) -> Pause:
        """The pause before the next attempt, or DeliveryFailed past the deadline."""
        if time.monotonic() >= self.deadline:
            raise DeliveryFailed(f"gave up after {self.attempt} attempts: {why}")
        self.attempt += 1
        cap = min(self.cfg.backoff_max, self.cfg.backoff_initial * 2 ** min(self.attempt, 30))
        pause = random.uniform(0, cap)  # noqa: S311 - jitter, not a secret
        if retry_after and retry_after.isdigit():
            pause = max(pause, float(retry_after))
        return Pause(min(pause, max(self.deadline - time.monotonic(), 0.0)))


def _call(call: HttpCall, backoff: Backoff) -> Generator[Step, Reply, HttpAnswer]:
    """One HTTP call with retries on transient failures."""
    while True:
        reply = yield call
        if isinstance(reply, HttpAnswer) and reply.status not in RETRYABLE:
            return reply
        if isinstance(reply, HttpAnswer):
            why = f"HTTP {reply.status}"
            retry_after = reply.headers.get("retry-after")
        else:
            why, retry_after = f"{type(reply).__name__}: {reply}", None
        yield backoff.next_pause(retry_after, why)


def deliver(
    events: list[AuditEvent], cfg: ClientConfig, high: int
) -> Generator[Step, Reply, tuple[BatchReport, int]]:
    """Sequence, send and interpret one batch. Returns the report and the new high mark."""
    auth = {"authorization": f"Bearer {cfg.api_key}"}
    backoff = Backoff(cfg)
    if any(ev.seq == 0 for ev in events):
        seq_call = HttpCall(
            f"{cfg.sequencer_url}/v1/sequence", auth, json={"count": len(events), "after": high}
        )
        answer = yield from _call(seq_call, backoff)
        if answer.status != 200:
            raise DeliveryFailed(f"sequencer answered {answer.status}: {answer.content[:200]!r}")
        first = int(answer.json["first"])
        for i, ev in enumerate(events):
            ev.seq = first + i
        high = max(high, events[-1].seq)
    body = EventBatch(events=events).SerializeToString()
    headers = {**auth, "content-type": PROTOBUF, "accept": PROTOBUF}
    answer = yield from _call(HttpCall(f"{cfg.ingest_url}/v1/events", headers, body), backoff)
    if answer.status not in (200, 422):
        raise DeliveryFailed(f"ingest answered {answer.status}: {answer.content[:300]!r}")
    return interpret(events, BatchResult.FromString(answer.content)), high


def interpret(events: list[AuditEvent], result: BatchResult) -> BatchReport:
    """Turn ingest's per-event results (and its receipt, if signed) into a report."""
    report = BatchReport()
    for r in result.results:
        ev = events[r.index]
        if r.status in (EventStatus.EVENT_STATUS_ACCEPTED, EventStatus.EVENT_STATUS_DUPLICATE):
            report.acknowledged.append((ev.idempotency_key, ev.seq))
        else:
            report.rejected.append(Rejection(ev.idempotency_key, r.code, r.field, r.reason))
    accepted = [r for r in result.results if r.status == EventStatus.EVENT_STATUS_ACCEPTED]
    if result.receipt and accepted:
        batch = BatchReceipt(result.receipt, tuple(r.event_hash for r in accepted))
        keys = [events[r.index].idempotency_key for r in accepted]
        report.receipts = dict(zip(keys, event_receipts(batch), strict=True))
    return report
