"""The JSON form of events: strict fields, exact integers, clear errors."""

from __future__ import annotations

import json

import pytest

from auditpipe_common.errors import EventError
from auditpipe_common.eventjson import (
    duplicate_key,
    event_from_json,
    event_to_json,
    object_pairs,
)
from auditpipe_common.schema import Outcome

GOOD = {
    "idempotency_key": "018bcfe5-6800-704c-9ced-9736a69da610",
    "seq": 7,
    "occurred_at": "2024-05-01T10:00:00.5+02:00",
    "action": "user.login",
    "outcome": "denied",
    "actor": {"id": "u-1", "ip": "10.0.0.1"},
    "resource": {"type": "session", "id": "s-9"},
    "attributes": {"big": 2**64 + 1, "nested": {"list": [1, "two", None, 3.5]}, "ü": "✓"},
}


def test_round_trip_keeps_every_field_and_big_integers_exact() -> None:
    ev = event_from_json(GOOD)
    assert ev.outcome == Outcome.OUTCOME_DENIED
    assert ev.occurred_at == 1_714_550_400_500_000
    ev.received_at = ev.occurred_at
    out = event_to_json(ev)
    assert out["attributes"] == GOOD["attributes"]
    assert out["attributes"]["big"] == 18446744073709551617
    assert out["occurred_at"] == "2024-05-01T08:00:00.500000Z"
    assert out["actor"]["ip"] == "10.0.0.1"
    assert json.loads(json.dumps(out))["seq"] == 7


@pytest.mark.parametrize(
    ("patch", "code", "field"),
    [
        ({"colour": "red"}, "unknown_field", "colour"),
        ({"actor": {"id": "x", "nick": "y"}}, "unknown_field", "actor.nick"),
        ({"action": 5}, "wrong_type", "action"),
        ({"seq": -1}, "out_of_range", "seq"),
        ({"seq": True}, "wrong_type", "seq"),
        ({"outcome": "maybe"}, "unknown_enum", "outcome"),
        ({"occurred_at": "2024-05-01T10:00:00"}, "timestamp_without_zone", "occurred_at"),
        ({"attributes": [1, 2]}, "wrong_type", "attributes"),
        ({"attributes": {"x": float("nan")}}, "invalid_attributes", "attributes"),
        ({"occurred_at": "1970-01-01T00:00:00Z"}, "timestamp_out_of_range", "occurred_at"),
        ({"occurred_at": 0}, "timestamp_out_of_range", "occurred_at"),
        ({"event": "\ud800"}, "invalid_utf8", "event"),
        ({"source": {"host": "h\udcff"}}, "invalid_utf8", "source.host"),
        ({"attributes": {"k": "\udbff"}}, "invalid_utf8", "attributes"),
    ],
)
def test_invalid_fields_name_the_field_and_the_problem(
    patch: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(EventError) as exc:
        event_from_json({**GOOD, **patch})
    assert (exc.value.code, exc.value.field) == (code, field)


def test_seq_may_be_a_decimal_string_for_javascript_clients() -> None:
    assert event_from_json({**GOOD, "seq": "9007199254740993"}).seq == 9007199254740993


def test_a_key_named_twice_is_found_wherever_it_is() -> None:
    doc = json.loads('{"a": 1, "b": {"c": [1, {"d": 1, "d": 2}]}}', object_pairs_hook=object_pairs)
    assert doc["b"]["c"][1] == {"d": 2}  # the last value, as plain json.loads keeps it
    assert duplicate_key(doc) == "b.c[1].d"
    assert duplicate_key(json.loads('{"a": {"b": 1}}', object_pairs_hook=object_pairs)) is None
