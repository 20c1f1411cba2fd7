"""The canonical leaf encoding: exact layout, every field covered, strict decoding."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditpipe_common.schema import AuditEvent, Outcome
from auditpipe_common.tlog import (
    FormatError,
    decode_leaf,
    event_bytes,
    event_hash,
    hash_leaf,
    leaf_bytes,
    leaf_from_json,
    leaf_hash,
    leaf_json,
)
from auditpipe_common.tlog.leaf import FIELDS


def sample() -> AuditEvent:
    ev = AuditEvent(
        tenant="acme", seq=42, idempotency_key="018bcfe5-6800-704c-9ced-9736a69da610",
        occurred_at=1_714_550_400_500_000, received_at=1_714_550_401_000_001,
        event="user.login", action="login", outcome=Outcome.OUTCOME_DENIED,
        request_id="req-1", trace_id="tr-1",
        attributes='{"big":18446744073709551617, "ü":"✓"}',
    )  # fmt: skip
    ev.actor.id, ev.actor.type, ev.actor.role = "u-1", "user", "admin"
    ev.actor.ip, ev.actor.user_agent = "203.0.113.7", "curl/8"
    ev.resource.type, ev.resource.id, ev.resource.name = "session", "s-9", "Session 9"
    ev.source.service, ev.source.host = "billing", "host-1"
    ev.source.sdk_name, ev.source.sdk_version = "auditpipe-python", "0.1.0"
    ev.clock_skewed = True
    return ev


def s(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">I", len(data)) + data


def test_layout_is_exactly_the_documented_one() -> None:
    ev = sample()
    want = (
        s("auditpipe/leaf/v1") + s("acme") + struct.pack(">QQ", 7, 42)
        + s("018bcfe5-6800-704c-9ced-9736a69da610")
        + struct.pack(">qq", 1_714_550_400_500_000, 1_714_550_401_000_001)
        + s("user.login") + s("login") + struct.pack(">i", 3)
        + s("u-1") + s("user") + s("admin") + s("203.0.113.7") + s("curl/8")
        + s("session") + s("s-9") + s("Session 9")
        + s("billing") + s("host-1") + s("auditpipe-python") + s("0.1.0")
        + s("req-1") + s("tr-1") + s('{"big":18446744073709551617, "ü":"✓"}') + b"\x01"
    )  # fmt: skip
    assert leaf_bytes(ev, 7) == want
    assert leaf_hash(ev, 7) == hashlib.sha256(b"\x00" + want).digest() == hash_leaf(want)
    tail = want[len(s("auditpipe/leaf/v1") + s("acme")) + 8 :]
    assert event_bytes(ev) == s("auditpipe/event/v1") + s("acme") + tail
    assert event_hash(ev) == hashlib.sha256(b"\x00" + event_bytes(ev)).digest()


def test_round_trip_and_absent_groups_equal_empty_ones() -> None:
    ev = sample()
    assert decode_leaf(leaf_bytes(ev, 7)) == (ev, 7)
    bare = AuditEvent(tenant="t", seq=1)
    empty_groups = AuditEvent(tenant="t", seq=1)
    empty_groups.actor.id = ""
    empty_groups.source.host = ""
    assert leaf_bytes(bare, 0) == leaf_bytes(empty_groups, 0)
    assert decode_leaf(leaf_bytes(bare, 0)) == (bare, 0)


def _mutations() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, kind in FIELDS:
        if name != "index":
            out.append((name, {"str": "x", "bool": None}.get(kind, 1)))
    return out


@pytest.mark.parametrize(("name", "value"), _mutations())
def test_every_field_changes_the_leaf_hash(name: str, value: Any) -> None:
    ev = sample()
    before = leaf_hash(ev, 7), event_hash(ev)
    *path, last = name.split(".")
    obj: Any = ev
    for part in path:
        obj = getattr(obj, part)
    old = getattr(obj, last)
    setattr(obj, last, (not old) if value is None else old + value)
    assert leaf_hash(ev, 7) != before[0]
    assert event_hash(ev) != before[1]


def test_the_position_is_part_of_the_leaf() -> None:
    ev = sample()
    assert leaf_hash(ev, 7) != leaf_hash(ev, 8)
    with pytest.raises(FormatError):
        leaf_bytes(ev, -1)
    with pytest.raises(FormatError):
        leaf_bytes(ev, 2**64)
    with pytest.raises(FormatError):
        leaf_bytes(ev, True)


def test_moving_bytes_between_fields_changes_the_leaf() -> None:
    a, b = AuditEvent(event="ab", action="c"), AuditEvent(event="a", action="bc")
    assert leaf_bytes(a, 0) != leaf_bytes(b, 0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:-1], "ends inside"),
        (lambda b: b + b"\x00", "after the last"),
        (lambda b: b[:4] + b"auditpipe/leaf/v2" + b[21:], "not an auditpipe v1 leaf"),
        (lambda b: b"", "ends inside"),
        (lambda b: b[:25] + b"\xff" + b[26:], "UTF-8"),
        (lambda b: b[:-1] + b"\x02", "clock_skewed must be"),
    ],
)
def test_decode_is_strict(mutate: Any, message: str) -> None:
    data = leaf_bytes(AuditEvent(tenant="acme", seq=1), 0)
    with pytest.raises(FormatError, match=message):
        decode_leaf(mutate(data))


def test_event_bytes_are_not_a_leaf() -> None:
    with pytest.raises(FormatError, match="not an auditpipe v1 leaf"):
        decode_leaf(event_bytes(sample()))


_text = st.text(max_size=20)


@st.composite
def events(draw: st.DrawFn) -> tuple[AuditEvent, int]:
    ev = AuditEvent()
    for name, kind in FIELDS:
        if name == "index":
            continue
        if kind == "str":
            value: Any = draw(_text)
        elif kind == "bool":
            value = draw(st.booleans())
        elif kind == "u64":
            value = draw(st.integers(0, 2**64 - 1))
        elif kind == "i64":
            value = draw(st.integers(-(2**63), 2**63 - 1))
        else:
            value = draw(st.integers(-(2**31), 2**31 - 1))
        *path, last = name.split(".")
        obj: Any = ev
        for part in path:
            obj = getattr(obj, part)
        if value:
            setattr(obj, last, value)
    return ev, draw(st.integers(0, 2**64 - 1))


@settings(max_examples=200, deadline=None)
@given(events())
def test_any_event_round_trips_through_bytes_and_json(case: tuple[AuditEvent, int]) -> None:
    ev, index = case
    data = leaf_bytes(ev, index)
    assert decode_leaf(data) == (ev, index)
    assert leaf_from_json(leaf_json(ev, index)) == (ev, index)


def test_leaf_json_form() -> None:
    obj = leaf_json(sample(), 7)
    assert obj["index"] == 7
    assert obj["outcome"] == 3
    assert obj["actor"]["user_agent"] == "curl/8"
    assert obj["attributes"] == '{"big":18446744073709551617, "ü":"✓"}'
    assert list(obj) == [
        "tenant", "index", "seq", "idempotency_key", "occurred_at", "received_at", "event",
        "action", "outcome", "actor", "resource", "source", "request_id", "trace_id", "attributes",
        "clock_skewed",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"seq": None}, "lacks seq"),
        ({"extra": 1}, "unknown extra"),
        ({"actor": {"id": "x"}}, "lacks actor"),
        ({"seq": "42"}, "must be an integer"),
        ({"seq": True}, "must be an integer"),
        ({"tenant": 5}, "must be a string"),
        ({"clock_skewed": 1}, "must be a boolean"),
        ({"seq": 2**64}, "does not fit"),
        ({"occurred_at": -(2**63) - 1}, "does not fit"),
        ({"source": "x"}, "must be an object"),
    ],
)
def test_leaf_json_is_strict(patch: dict[str, Any], message: str) -> None:
    obj = leaf_json(sample(), 7)
    for key, value in patch.items():
        if value is None:
            del obj[key]
        else:
            obj[key] = value
    with pytest.raises(FormatError, match=message):
        leaf_from_json(obj)
    with pytest.raises(FormatError):
        leaf_from_json([obj])
