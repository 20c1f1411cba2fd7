"""Event building and UUIDv7 keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from auditpipe import ClientConfig, Overflow, build_event, uuid7
from auditpipe.report import Stats


def test_uuid7_has_version_variant_and_time_order() -> None:
    keys = [uuid7() for _ in range(1000)]
    parsed = [uuid.UUID(k) for k in keys]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert len(set(keys)) == 1000
    first_ms = parsed[0].int >> 80
    assert abs(first_ms - datetime.now(UTC).timestamp() * 1000) < 60_000


def test_build_event_fills_fields_and_converts_time() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=1)))
    ev = build_event(
        "invoice.approve",
        actor={"id": "u-1", "role": "admin"},
        resource={"type": "invoice", "id": "7"},
        outcome="failure",
        occurred_at=when,
        attributes={"amount": 2**64},
    )
    assert ev.event == "invoice.approve"
    assert ev.actor.role == "admin"
    assert ev.occurred_at == 1_704_161_045_678_901
    assert ev.attributes == '{"amount":18446744073709551616}'
    assert ev.source.sdk_name == "auditpipe-python"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor": ""}, "actor id is required"),
        ({"actor": {"id": "u", "shoe": "x"}}, "actor has no field"),
        ({"actor": "u", "outcome": "meh"}, "unknown outcome"),
        ({"actor": "u", "occurred_at": datetime(2024, 1, 1)}, "naive datetime"),
    ],
)
def test_impossible_events_fail_at_log_time(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_event("read", **kwargs)  # type: ignore[arg-type]


def test_config_needs_a_key_and_a_sane_buffer() -> None:
    with pytest.raises(ValueError, match="api_key"):
        ClientConfig(api_key="")
    with pytest.raises(ValueError, match="batch_size"):
        ClientConfig(api_key="k", batch_size=10, max_buffer=5)
    assert ClientConfig(api_key="k", overflow="raise").overflow is Overflow.RAISE  # type: ignore[arg-type]
    assert Stats().logged == 0
