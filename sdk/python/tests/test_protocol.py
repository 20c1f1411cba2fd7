"""Batch delivery, driven step by step with scripted answers (no server needed)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Generator, Iterable
from typing import Any

import pytest

from auditpipe import ClientConfig
from auditpipe.events import build_event
from auditpipe.protocol import DeliveryFailed, HttpAnswer, HttpCall, Pause, Reply, Step, deliver
from auditpipe_common.schema import BatchResult, EventBatch, EventStatus


def config(**kw: Any) -> ClientConfig:
    return ClientConfig(api_key="ap_test", backoff_initial=0.01, backoff_max=0.05, **kw)


def seq_answer(first: int, count: int) -> HttpAnswer:
    body = {"tenant": "t", "first": first, "last": first + count - 1}
    return HttpAnswer(200, {}, json.dumps(body).encode(), body)


def ok_answer(n: int) -> HttpAnswer:
    result = BatchResult(accepted=n)
    for i in range(n):
        result.results.add(index=i, status=EventStatus.EVENT_STATUS_ACCEPTED)
    return HttpAnswer(200, {}, result.SerializeToString())


def run(gen: Generator[Step, Reply, Any], answers: Iterable[Reply]) -> tuple[Any, list[Step]]:
    steps: list[Step] = []
    replies = iter(answers)
    try:
        step = next(gen)
        while True:
            steps.append(step)
            step = gen.send(None if isinstance(step, Pause) else next(replies))
    except StopIteration as stop:
        return stop.value, steps


def test_retries_resend_the_same_bytes_and_honour_retry_after() -> None:
    events = [build_event("read", actor="u") for _ in range(3)]
    answers: list[Reply] = [
        ConnectionError("refused"),  # sequencer down once
        seq_answer(41, 3),
        HttpAnswer(503, {"retry-after": "0"}, b""),
        ConnectionError("reset"),
        ok_answer(3),
    ]
    (report, high), steps = run(deliver(events, config(), high=7), answers)
    posts = [s for s in steps if isinstance(s, HttpCall) and s.url.endswith("/v1/events")]
    assert len(posts) == 3
    assert posts[0].content == posts[1].content == posts[2].content
    sent = EventBatch.FromString(posts[0].content).events
    assert [e.seq for e in sent] == [41, 42, 43]
    assert [e.idempotency_key for e in sent] == [e.idempotency_key for e in events]
    seq_calls = [s for s in steps if isinstance(s, HttpCall) and s.json is not None]
    assert seq_calls[0].json == {"count": 3, "after": 7}
    assert high == 43
    assert [k for k, _ in report.acknowledged] == [e.idempotency_key for e in events]
    assert sum(isinstance(s, Pause) for s in steps) == 3


def test_rejections_are_reported_per_event() -> None:
    events = [build_event("read", actor="u") for _ in range(2)]
    result = BatchResult(accepted=1, rejected=1)
    result.results.add(index=0, status=EventStatus.EVENT_STATUS_ACCEPTED)
    result.results.add(
        index=1,
        status=EventStatus.EVENT_STATUS_REJECTED,
        code="too_long",
        field="event",
        reason="5000 characters",
    )
    (report, _), _ = run(
        deliver(events, config(), 0),
        [seq_answer(1, 2), HttpAnswer(200, {}, result.SerializeToString())],
    )
    assert report.acknowledged == [(events[0].idempotency_key, 1)]
    assert [(r.idempotency_key, r.code) for r in report.rejected] == [
        (events[1].idempotency_key, "too_long")
    ]


def test_permanent_http_errors_fail_the_batch_without_retrying() -> None:
    events = [build_event("read", actor="u")]
    gen = deliver(events, config(), 0)
    with pytest.raises(DeliveryFailed, match="401"):
        run(gen, [seq_answer(1, 1), HttpAnswer(401, {}, b"unknown API key")])


def test_giving_up_after_the_retry_deadline() -> None:
    events = [build_event("read", actor="u")]
    gen = deliver(events, config(retry_deadline=0.05), 0)
    with pytest.raises(DeliveryFailed, match="gave up"):
        run(gen, itertools.repeat(ConnectionError("down")))


def test_already_sequenced_events_keep_their_numbers() -> None:
    ev = build_event("read", actor="u")
    ev.seq = 99
    (report, high), steps = run(deliver([ev], config(), 5), [ok_answer(1)])
    assert len(steps) == 1  # no sequencer call
    assert report.acknowledged == [(ev.idempotency_key, 99)]
    assert high == 5
