"""The store on real chDB: idempotent schema, dedup token, key checks, filters, order."""

from __future__ import annotations

import uuid

import pytest

from auditpipe_common.errors import PermanentError
from auditpipe_common.eventjson import event_to_json
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import EventColumns, EventFilter, Store
from auditpipe_common.timeutil import now_us

pytestmark = pytest.mark.integration

BASE_US = 1_700_000_000_000_000


def make_events(tenant: str, n: int, start_seq: int = 1) -> list[AuditEvent]:
    events = []
    for i in range(n):
        ev = AuditEvent(
            tenant=tenant,
            seq=start_seq + i,
            idempotency_key=str(uuid.uuid4()),
            occurred_at=BASE_US + i * 1_000_000,
            received_at=now_us(),
            action="read" if i % 2 else "write",
            attributes=f'{{"i": {i}, "big": {2**63 + i}}}',
        )
        ev.actor.id = f"user-{i % 3}"
        ev.resource.type, ev.resource.id = "doc", f"d{i % 5}"
        events.append(ev)
    return events


def insert(store: Store, events: list[AuditEvent]) -> None:
    rows = EventColumns()
    rows.extend(events, retention_days=30)
    store.insert(rows)


def test_schema_creation_is_idempotent(store: Store) -> None:
    store.ensure_schema()
    store.ensure_schema()
    assert store.stats(EventFilter(tenant="nobody"))["count"] == 0


def test_the_same_block_inserted_twice_is_stored_once(store: Store) -> None:
    events = make_events("acme", 50)
    insert(store, events)
    insert(store, events)  # a replayed insert with the same token
    assert store.stats(EventFilter(tenant="acme")) == {
        "count": 50,
        "distinct_keys": 50,
        "min_seq": 1,
        "max_seq": 50,
    }


def test_existing_keys_finds_stored_keys_of_that_tenant_only(store: Store) -> None:
    events = make_events("acme", 10)
    insert(store, events)
    keys = [e.idempotency_key for e in events[:4]] + [str(uuid.uuid4())]
    assert store.existing_keys("acme", keys) == set(keys[:4])
    assert store.existing_keys("other", keys) == set()


def test_round_trip_keeps_fields_and_exact_big_integers(store: Store) -> None:
    events = make_events("acme", 3)
    insert(store, events)
    back = store.select(EventFilter(tenant="acme"), limit=10)
    assert [event_to_json(e) for e in back] == [event_to_json(e) for e in events]
    assert event_to_json(back[0])["attributes"]["big"] == 2**63


def test_filters_select_exactly_the_matching_events(store: Store) -> None:
    events = make_events("acme", 30)
    insert(store, events)
    insert(store, make_events("other", 30))

    def seqs(**kw: object) -> list[int]:
        return [e.seq for e in store.select(EventFilter(tenant="acme", **kw), limit=100)]  # type: ignore[arg-type]

    assert seqs(actor="user-1") == [e.seq for e in events if e.actor.id == "user-1"]
    assert seqs(action="read", resource_id="d2") == [
        e.seq for e in events if e.action == "read" and e.resource.id == "d2"
    ]
    assert seqs(since_us=BASE_US + 10_000_000, until_us=BASE_US + 13_000_000) == [11, 12, 13]
    assert seqs(seq_from=28) == [28, 29, 30]
    assert seqs(seq_to=2) == [1, 2]


def test_rows_past_their_retention_are_not_kept(store: Store) -> None:
    expired = make_events("acme", 5)
    for ev in expired:
        ev.received_at = BASE_US  # received in 2023, kept 30 days
    insert(store, expired)
    store.query_rows(f"OPTIMIZE TABLE {store.table} FINAL")
    assert store.stats(EventFilter(tenant="acme"))["count"] == 0


def test_scan_pages_through_everything_in_seq_order(store: Store) -> None:
    events = make_events("acme", 25)
    insert(store, list(reversed(events)))
    assert [e.seq for e in store.scan(EventFilter(tenant="acme"), page=7)] == list(range(1, 26))


def test_the_store_rejects_rows_no_valid_ingest_produces(store: Store) -> None:
    bad = make_events("acme", 1)
    bad[0].seq = 0
    with pytest.raises(PermanentError, match="seq_positive"):
        insert(store, bad)
    assert store.stats(EventFilter(tenant="acme"))["count"] == 0
