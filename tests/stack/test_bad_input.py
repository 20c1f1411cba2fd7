"""Bad input, one test per class, over protobuf and JSON, checked in the store.

Each test sends one batch through the running stack: a valid event, the
class's subjects, another valid event. Every invalid subject must get its
own precise code and field; the valid events of the same batch (and the
valid edge cases among the subjects) must then be *in the store*, exported
exactly; nothing rejected may be stored, nothing stored twice; and a later
good batch must still flow, with no dead letter and the worker alive (the
stream and the store are not poisoned).

A class is run in each form that can express it: protobuf has no text
timestamps (so no zones, nanoseconds or leap seconds), no types to get wrong
and no repeated keys; only protobuf has undecodable frames. Whole-batch
problems (unreadable, empty or oversized bodies) are refused with one
status and store nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from auditpipe_cli.remote import QueryClient, create_key, wait_drained
from auditpipe_cli.stack import LocalStack
from auditpipe_common.streams import deadletter_key
from auditpipe_common.timeutil import MAX_US
from tests.stack.badinput import (
    Doc,
    Ingest,
    Subject,
    body,
    check_answer,
    check_exported,
    event_doc,
    json_only,
    pb_only,
    subject,
    without,
)
from tests.stack.conftest import exported, wait_count

pytestmark = pytest.mark.stack
FORMATS = ("protobuf", "json")
REQUIRED = ("idempotency_key", "seq", "occurred_at", "action", "actor.id")


def missing_fields() -> list[Subject]:
    return [subject(without(event_doc(), f), "missing_field", f) for f in REQUIRED]


def undecodable_event() -> list[Subject]:
    broken = event_doc()
    return [
        pb_only(broken, "malformed_event", "", raw=b"\xff\xff\xff"),
        pb_only(broken, "malformed_event", "", raw=subject(broken).pb[:-3]),  # type: ignore[index]
        json_only({}, "wrong_type", "", raw=b"5"),
        json_only(event_doc(actor="u-1"), "wrong_type", "actor"),
        json_only(event_doc(seq="12a"), "wrong_type", "seq"),
        json_only(event_doc(colour="red"), "unknown_field", "colour"),
    ]


def unknown_enum() -> list[Subject]:
    doc = event_doc()
    return [
        pb_only(doc, "unknown_enum", "outcome", outcome=42),
        json_only(event_doc(outcome="maybe"), "unknown_enum", "outcome"),
        json_only(event_doc(outcome="OUTCOME_42"), "unknown_enum", "outcome"),
        subject(event_doc(outcome="denied"), exported={"outcome": "denied"}),
    ]


def oversized_event() -> list[Subject]:
    big = event_doc(attributes={"pad": "x" * 70_000})
    return [subject(big, "event_too_large", "")]


def invalid_utf8() -> list[Subject]:
    doc = event_doc(action="doc~read")
    good_pb = subject(doc).pb or b""
    surrogate = event_doc(actor={"id": "u-\ud800"})
    return [
        pb_only(doc, "malformed_event", "", raw=good_pb.replace(b"doc~read", b"doc\xffread")),
        json_only(
            doc, "invalid_utf8", "action", raw=json.dumps(doc).encode().replace(b"~", b"\xe9")
        ),
        json_only(surrogate, "invalid_utf8", "actor.id", raw=json.dumps(surrogate).encode()),
    ]


def nul_bytes() -> list[Subject]:
    return [
        subject(event_doc(resource={"name": "a\x00b"}), "nul_byte", "resource.name"),
        subject(event_doc(attributes={"k": "\x00"}), "nul_byte", "attributes"),
    ]


def nested(depth: int) -> Doc:
    """An attributes object nested ``depth`` containers deep (itself included)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return {"a": value}


def deep_attributes() -> list[Subject]:
    at_limit = nested(32)
    hole = event_doc(attributes={"a": "HOLE"})
    deep = "[" * 5000 + "]" * 5000
    raw = json.dumps(hole).replace('"HOLE"', deep).encode()
    return [
        subject(event_doc(attributes=at_limit), exported={"attributes": at_limit}),
        subject(event_doc(attributes=nested(33)), "too_deep", "attributes"),
        json_only(hole, "too_deep", "", raw=raw),
        pb_only(hole, "too_deep", "attributes", attributes='{"a":' + deep + "}"),
    ]


def big_integers() -> list[Subject]:
    attrs = {
        "2^53+1": 2**53 + 1,
        "-2^63-1": -(2**63) - 1,
        "2^64": 2**64,
        "10^40": 10**40,
        "list": [2**53 + 1, -(2**53) - 1],
    }
    return [
        subject(event_doc(attributes=attrs), exported={"attributes": attrs}),
        subject(event_doc(seq=2**60 + 3), exported={"seq": 2**60 + 3}),
    ]


def at(text: str, code: str = "", stored: str = "") -> Subject:
    """A JSON event at ``text``: rejected with ``code``, or exported at ``stored``."""
    exported = {} if code else {"occurred_at": stored, "clock_skewed": True}
    field = "occurred_at" if code else ""
    return json_only(event_doc(occurred_at=text), code, field, exported=exported)


def zones() -> list[Subject]:
    return [
        at("2024-02-29T12:34:56Z", stored="2024-02-29T12:34:56.000000Z"),
        at("2024-02-29t12:34:56z", stored="2024-02-29T12:34:56.000000Z"),
        at("2024-02-29T12:34:56+05:30", stored="2024-02-29T07:04:56.000000Z"),
        at("2024-02-29 12:34:56-08:00", stored="2024-02-29T20:34:56.000000Z"),
        at("2024-02-29T12:34:56", "timestamp_without_zone"),
        at("29/02/2024 12:34", "invalid_timestamp"),
        json_only(
            event_doc(occurred_at=1_709_210_096_000_001),
            exported={"occurred_at": "2024-02-29T12:34:56.000001Z"},
        ),
    ]


def nanoseconds() -> list[Subject]:
    return [
        at("2024-02-29T12:34:56.123456789Z", stored="2024-02-29T12:34:56.123456Z"),
        at("2024-02-29T12:34:56.987654321-08:00", stored="2024-02-29T20:34:56.987654Z"),
        at("2024-02-29T12:34:56.5Z", stored="2024-02-29T12:34:56.500000Z"),
    ]


def leap_second() -> list[Subject]:
    return [
        at("2016-12-31T23:59:60Z", stored="2016-12-31T23:59:59.999999Z"),
        at("2016-12-31T23:59:60.5+00:00", stored="2016-12-31T23:59:59.999999Z"),
        at("2016-12-31T23:59:61Z", "invalid_timestamp"),
    ]


def epochs_and_far_future() -> list[Subject]:
    def stored(text: str) -> Subject:
        return subject(
            event_doc(occurred_at=text), exported={"occurred_at": text, "clock_skewed": True}
        )

    doc = event_doc()
    return [
        stored("1970-01-01T00:00:00.000001Z"),
        stored("2100-01-01T00:00:00.000000Z"),
        stored("2299-12-31T23:59:59.999999Z"),
        at("1970-01-01T00:00:00Z", "timestamp_out_of_range"),
        at("1969-12-31T23:59:59Z", "timestamp_out_of_range"),
        at("2300-01-01T00:00:00Z", "timestamp_out_of_range"),
        at("9999-12-31T23:59:59Z", "timestamp_out_of_range"),
        pb_only(doc, "missing_field", "occurred_at", occurred_at=0),
        pb_only(doc, "timestamp_out_of_range", "occurred_at", occurred_at=-1),
        pb_only(doc, "timestamp_out_of_range", "occurred_at", occurred_at=MAX_US + 1),
    ]


def duplicate_keys() -> list[Subject]:
    doc = event_doc()
    twice = event_doc()
    raw = json.dumps(twice).removesuffix("}").encode() + b', "action": "other"}'
    return [
        subject(doc),
        subject({**doc, "action": "a different action"}, duplicate=True),
        json_only(twice, "duplicate_field", "action", raw=raw),
    ]


NON_ASCII: Doc = {
    "event": "Zugriff · アクセス",
    "action": "документ.читать",
    "request_id": "请求-१२३",
    "trace_id": "🧵-trace",
    "actor": {
        "id": "usuário-ñ",
        "type": "χρήστης",
        "role": "מנהל",
        "ip": "fe80::1%eth0·",
        "user_agent": "Mözilla/5.0 (🦊)",
    },
    # U+2028, U+0085 and U+001C end a line for str.splitlines, not in JSON lines
    "resource": {
        "type": "فاتورة",
        "id": "ресурс-7",
        "name": "e\u0301clair 👩\u200d💻\u2028\x85\x1c",
    },
    "source": {"service": "billing-€", "host": "hôte.local", "sdk_name": "ß", "sdk_version": "β"},
    "attributes": {"clé": "valeur ✓", "日本": ["一", "二"], "emoji": "🦄\u200d", "": "∅"},
}


def non_ascii() -> list[Subject]:
    """Every string field a client may set (not the UUID key, not the slug tenant)."""
    return [subject(event_doc(**NON_ASCII), exported=NON_ASCII)]


CLASSES: dict[str, Callable[[], list[Subject]]] = {
    "missing required fields": missing_fields,
    "one undecodable event": undecodable_event,
    "unknown enum values": unknown_enum,
    "oversized event": oversized_event,
    "invalid UTF-8": invalid_utf8,
    "NUL bytes": nul_bytes,
    "deeply nested attributes": deep_attributes,
    "integers beyond 2^53": big_integers,
    "timestamps with and without zone": zones,
    "nanosecond precision": nanoseconds,
    "leap second": leap_second,
    "1970, 2100 and far future": epochs_and_far_future,
    "duplicate keys inside one batch": duplicate_keys,
    "non-ASCII in every string field": non_ascii,
}
CASES = [
    pytest.param(name, fmt, id=f"{name} [{fmt}]")
    for name, make in CLASSES.items()
    for fmt in FORMATS
    if any(s.raw(fmt) is not None for s in make())
]


@pytest.fixture
def ingest(stack: LocalStack, tenant: str) -> Ingest:
    """Posts batches for the test's own tenant."""
    return Ingest(stack.config.url("ingest"), create_key(stack.config.redis_url, tenant))


@pytest.fixture
def unpoisoned(stack: LocalStack) -> Iterator[None]:
    """After the test: nothing went to the dead-letter stream, the worker is alive, all drained."""
    client = redis.Redis.from_url(stack.config.redis_url)
    before = client.xlen(deadletter_key("auditpipe"))
    yield
    assert wait_drained(stack.config.redis_url, stack.config.shards, timeout=60)
    assert client.xlen(deadletter_key("auditpipe")) == before
    client.close()
    assert stack.procs["node"].poll() is None


def stored_rows(stack: LocalStack, ingest: Ingest, expected: set[str]) -> dict[str, Doc]:
    """The tenant's exported rows by key, once as many as ``expected`` are stored."""
    with QueryClient(stack.config.url("query"), ingest.key) as query:
        assert wait_count(query, len(expected)) == len(expected)
        rows = exported(query)
    by_key = {r["idempotency_key"]: r for r in rows}
    assert len(by_key) == len(rows), "an event was stored twice"
    assert set(by_key) == expected
    return by_key


@pytest.mark.usefixtures("unpoisoned")
@pytest.mark.parametrize(("case", "fmt"), CASES)
def test_bad_events_get_a_reason_and_the_valid_ones_are_stored(
    case: str, fmt: str, stack: LocalStack, ingest: Ingest
) -> None:
    subjects = [s for s in CLASSES[case]() if s.raw(fmt) is not None]
    first, last = subject(event_doc()), subject(event_doc())
    frames = [s.raw(fmt) or b"" for s in (first, *subjects, last)]
    r = ingest.post(fmt, body(fmt, frames))
    assert r.status_code == 200, r.text
    check_answer(r.json(), [first, *subjects, last], offset=0)
    later = ingest.good(fmt)
    accepted = {s.key for s in subjects if not (s.code or s.duplicate)}
    rows = stored_rows(stack, ingest, {first.key, last.key, *accepted, *later})
    check_exported(rows, subjects, fmt)


def too_many_events(fmt: str) -> bytes:
    return body(fmt, (subject(event_doc()).raw(fmt) or b"" for _ in range(2001)))


WHOLE_BATCH: dict[str, tuple[Callable[[str], bytes], int, str]] = {
    "unreadable body": (
        lambda fmt: b"\xff\xff\xff" if fmt == "protobuf" else b'{"events": [',
        400,
        "malformed protobuf|invalid JSON",
    ),
    "empty batch": (lambda fmt: body(fmt, []), 400, "empty batch"),
    "a bare empty JSON array or empty body": (
        lambda fmt: b"" if fmt == "protobuf" else b"[]",
        400,
        "empty batch",
    ),
    "oversized batch (bytes)": (lambda fmt: b" " * (8 * 2**20 + 1), 413, "exceeds the limit"),
    "oversized batch (events)": (too_many_events, 413, "exceed the limit"),
}


@pytest.mark.usefixtures("unpoisoned")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(WHOLE_BATCH))
def test_a_batch_that_cannot_be_taken_is_refused_whole_and_harms_nothing(
    case: str, fmt: str, stack: LocalStack, ingest: Ingest
) -> None:
    make, status, needle = WHOLE_BATCH[case]
    r = ingest.post(fmt, make(fmt))
    assert r.status_code == status
    assert any(n in r.json()["error"] for n in needle.split("|")), r.text
    later = ingest.good(fmt)
    stored_rows(stack, ingest, set(later))
