"""Validation of single events against the contract and limits."""

from __future__ import annotations

import json

import pytest

from auditpipe_common.errors import EventError
from auditpipe_common.schema import AuditEvent
from auditpipe_common.validation import Limits, container_depth, validate_event

LIMITS = Limits(max_attribute_depth=5, max_string_chars=50, max_event_bytes=2000)


def good() -> AuditEvent:
    ev = AuditEvent(
        idempotency_key="018bcfe5-6800-704c-9ced-9736a69da610",
        seq=1,
        occurred_at=1_700_000_000_000_000,
        action="read",
        attributes='{"a": [1, {"b": 2}]}',
    )
    ev.actor.id = "u1"
    return ev


def check(ev: AuditEvent, tenant: str = "acme") -> None:
    validate_event(ev, tenant, LIMITS, ev.ByteSize())


def test_valid_event_gets_the_key_tenant() -> None:
    ev = good()
    check(ev)
    assert ev.tenant == "acme"


def mutate(**changes: object) -> AuditEvent:
    ev = good()
    for path, value in changes.items():
        target = ev
        parts = path.split("__")
        for part in parts[:-1]:
            target = getattr(target, part)
        setattr(target, parts[-1], value)
    return ev


@pytest.mark.parametrize(
    ("ev", "code", "field"),
    [
        (mutate(tenant="other"), "tenant_forbidden", "tenant"),
        (mutate(idempotency_key=""), "missing_field", "idempotency_key"),
        (mutate(idempotency_key="not-a-uuid"), "invalid_uuid", "idempotency_key"),
        (mutate(seq=0), "missing_field", "seq"),
        (mutate(occurred_at=0), "missing_field", "occurred_at"),
        (mutate(occurred_at=-5), "timestamp_out_of_range", "occurred_at"),
        (mutate(action=""), "missing_field", "action"),
        (mutate(actor__id=""), "missing_field", "actor.id"),
        (mutate(outcome=42), "unknown_enum", "outcome"),
        (mutate(resource__name="a\x00b"), "nul_byte", "resource.name"),
        (mutate(event="x" * 51), "too_long", "event"),
        (mutate(attributes='{"a":' * 6 + "1" + "}" * 6), "too_deep", "attributes"),
        (mutate(attributes='{"a": 1'), "invalid_attributes", "attributes"),
        (mutate(attributes="[1]"), "invalid_attributes", "attributes"),
        (mutate(attributes='{"a": "\\u0000"}'), "nul_byte", "attributes"),
        (mutate(attributes='{"a": "\\\\\\u0000"}'), "nul_byte", "attributes"),
        (mutate(attributes='{"a": "' + "x" * 3000 + '"}'), "event_too_large", ""),
    ],
)
def test_each_invalid_event_gets_a_precise_reason(ev: AuditEvent, code: str, field: str) -> None:
    with pytest.raises(EventError) as exc:
        check(ev)
    assert (exc.value.code, exc.value.field) == (code, field)


def test_container_depth_counts_containers_not_brackets_in_strings() -> None:
    assert container_depth({"a": "[[[{{{", "b": [1, [2]]}, 10) == 3
    assert container_depth({}, 10) == 1
    assert container_depth(7, 10) == 0


def test_nesting_deeper_than_the_parser_goes_is_too_deep() -> None:
    ev = mutate(attributes='{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(EventError) as exc:
        validate_event(ev, "acme", Limits(max_event_bytes=10**7), ev.ByteSize())
    assert exc.value.code == "too_deep"


@pytest.mark.parametrize(
    "text", ['{"a": "\\\\u0000"}', '{"\\\\u0000": 1}', '{"a": "\\\\\\\\u0000"}']
)
def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(text: str) -> None:
    value = json.loads(text)
    assert "\x00" not in "".join(str(x) for x in (*value, *value.values()))
    check(mutate(attributes=text))
