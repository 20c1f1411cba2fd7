"""Property: SDK → ingest → Redis → worker → store → export loses nothing.

Hypothesis generates events (every field the SDK takes, any Unicode text
but NUL and lone surrogates, attributes with integers far beyond 2^53,
floats, nesting, empty keys) and batch sizes; each example logs them with a
fresh SDK client and reads them back from the query API's export. Every
field must come back exactly: the attributes as the same JSON text, byte
for byte, and the client's time as sent, flagged when it is far from
ingest's.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditpipe import AuditClient, BatchReport, ClientConfig
from auditpipe.events import SDK_NAME, SDK_VERSION
from auditpipe_cli.remote import QueryClient, create_key
from auditpipe_cli.stack import LocalStack
from auditpipe_common.eventjson import dumps_attributes
from auditpipe_common.timeutil import MAX_US, format_rfc3339, parse_rfc3339
from tests.stack.conftest import exported, wait_count

pytestmark = pytest.mark.stack
SKEW_US = 300 * 1_000_000  # ingest's default AUDITPIPE_MAX_CLOCK_SKEW_S

ALPHABET = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SHORT = st.text(ALPHABET, max_size=40)
WORD = st.text(ALPHABET, min_size=1, max_size=20)
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**100), 2**100)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SHORT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SHORT, inner, max_size=4),
    max_leaves=12,
)
EVENT = st.fixed_dictionaries(
    {
        "action": WORD,
        "actor": st.fixed_dictionaries(
            {"id": WORD}, optional={k: SHORT for k in ("type", "role", "ip", "user_agent")}
        ),
    },
    optional={
        "event": SHORT,
        "outcome": st.sampled_from(["success", "failure", "denied", "unknown"]),
        "occurred_at": st.integers(1, MAX_US),
        "resource": st.fixed_dictionaries({}, optional={k: SHORT for k in ("type", "id", "name")}),
        "source": st.fixed_dictionaries({}, optional={k: SHORT for k in ("service", "host")}),
        "request_id": SHORT,
        "trace_id": SHORT,
        "attributes": st.dictionaries(SHORT, JSON_VALUE, max_size=6),
    },
)


@pytest.fixture(scope="module")
def roundtrip(stack: LocalStack) -> Iterator[tuple[LocalStack, str, str, QueryClient]]:
    """A tenant of its own for the whole property: (stack, tenant, key, query client)."""
    tenant = f"rt-{uuid.uuid4().hex[:10]}"
    key = create_key(stack.config.redis_url, tenant)
    with QueryClient(stack.config.url("query"), key) as query:
        yield stack, tenant, key, query


def expected(kw: dict[str, Any], tenant: str, key: str, seq: int) -> dict[str, Any]:
    """The export the SDK's ``log(**kw)`` must lead to (but for the ingest-made fields)."""
    default = {"service": "", "host": socket.gethostname()}  # the SDK's own, when none given
    source = {"service": "", "host": "", **kw["source"]} if "source" in kw else default
    return {
        "tenant": tenant,
        "seq": seq,
        "idempotency_key": key,
        "event": kw.get("event") or kw["action"],
        "action": kw["action"],
        "outcome": kw.get("outcome", "success"),
        "actor": {"type": "", "role": "", "ip": "", "user_agent": "", **kw["actor"]},
        "resource": {"type": "", "id": "", "name": "", **kw.get("resource", {})},
        "source": {**source, "sdk_name": SDK_NAME, "sdk_version": SDK_VERSION},
        "request_id": kw.get("request_id", ""),
        "trace_id": kw.get("trace_id", ""),
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(EVENT, min_size=1, max_size=12), batch_size=st.integers(1, 5))
def test_every_field_survives_the_round_trip(
    roundtrip: tuple[LocalStack, str, str, QueryClient],
    events: list[dict[str, Any]],
    batch_size: int,
) -> None:
    stack, tenant, api_key, query = roundtrip
    before = query.stats()["count"]
    reports: list[BatchReport] = []

    config = ClientConfig(
        api_key=api_key,
        ingest_url=stack.config.url("ingest"),
        sequencer_url=stack.config.url("sequencer"),
        batch_size=batch_size,
        flush_interval=0.01,
        on_report=reports.append,
    )
    with AuditClient(config) as client:
        keys = [client.log(**kw) for kw in events]
        assert client.flush(60)
    assert not any(r.rejected or r.failed for r in reports), reports
    acked = dict(pair for r in reports for pair in r.acknowledged)
    assert set(acked) == set(keys)
    assert wait_count(query, before + len(keys)) == before + len(keys)
    rows = {r["idempotency_key"]: r for r in exported(query)}
    for kw, key in zip(events, keys, strict=True):
        row, want = rows[key], expected(kw, tenant, key, acked[key])
        assert {k: row[k] for k in want} == want
        assert dumps_attributes(row["attributes"]) == dumps_attributes(kw.get("attributes", {}))
        received = parse_rfc3339(row["received_at"])
        if "occurred_at" in kw:
            assert row["occurred_at"] == format_rfc3339(kw["occurred_at"])
            assert row["clock_skewed"] == (abs(received - kw["occurred_at"]) > SKEW_US)
