"""The query API on real chDB and redis-server: filters, pages, export, isolation."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from auditpipe_cli.remote import create_key
from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import EventColumns, Store
from auditpipe_common.timeutil import now_us
from auditpipe_query.app import create_app
from auditpipe_query.settings import QuerySettings

pytestmark = pytest.mark.integration
T0 = 1_700_000_000_000_000


def seed(store: Store, tenant: str, n: int) -> list[AuditEvent]:
    rows, out = EventColumns(), []
    for i in range(1, n + 1):
        ev = AuditEvent(
            tenant=tenant,
            seq=i * 3,
            idempotency_key=str(uuid.uuid4()),
            occurred_at=T0 + i * 1_000_000,
            received_at=now_us(),
            action=("login", "read", "delete")[i % 3],
            attributes=json.dumps({"i": i, "big": 2**70 + i}),
        )
        ev.actor.id = f"user-{i % 4}"
        ev.resource.type, ev.resource.id = "doc", f"d{i % 2}"
        out.append(ev)
    rows.extend(out, 30)
    store.insert(rows)
    return out


@pytest.fixture
def api(store: Store, redis_url: str) -> Iterator[tuple[TestClient, str, str]]:
    settings = QuerySettings(redis_url=SecretStr(redis_url), max_page=50)
    with TestClient(create_app(settings, store=store)) as client:
        yield client, create_key(redis_url, "acme"), create_key(redis_url, "globex")


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def all_pages(client: TestClient, key: str, **params: object) -> tuple[list[int], int]:
    seqs, pages, cursor = [], 0, None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/events", params=q, headers=auth(key)).json()
        pages += 1
        seqs += [e["seq"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seqs, pages


def test_pagination_returns_each_match_once_across_page_boundaries(
    api: tuple[TestClient, str, str], store: Store
) -> None:
    client, key, _ = api
    events = seed(store, "acme", 120)
    seqs, pages = all_pages(client, key, limit=7)
    assert seqs == [e.seq for e in events]
    assert pages == 18  # 17 full pages of 7, one of 1
    filtered, _ = all_pages(client, key, limit=4, actor="user-1", action="read")
    assert filtered == [e.seq for e in events if e.actor.id == "user-1" and e.action == "read"]


def test_time_seq_and_resource_filters(api: tuple[TestClient, str, str], store: Store) -> None:
    client, key, _ = api
    events = seed(store, "acme", 30)

    def seqs(**params: object) -> list[int]:
        r = client.get("/v1/events", params={"limit": 50, **params}, headers=auth(key))
        assert r.status_code == 200, r.text
        return [e["seq"] for e in r.json()["events"]]

    assert seqs(since="2023-11-14T22:13:25Z", until=str(T0 + 8_000_000)) == [15, 18, 21]
    assert seqs(seq_from=80, seq_to=85) == [81, 84]
    assert seqs(resource_type="doc", resource_id="d0") == [
        e.seq for e in events if e.resource.id == "d0"
    ]
    assert client.get("/v1/events", params={"since": "soon"}, headers=auth(key)).status_code == 400


def test_a_tenant_key_never_reads_another_tenant(
    api: tuple[TestClient, str, str], store: Store
) -> None:
    client, key_acme, key_globex = api
    seed(store, "acme", 5)
    assert client.get("/v1/events", headers=auth(key_globex)).json()["events"] == []
    assert client.get("/v1/export", headers=auth(key_globex)).text == ""
    assert client.get("/v1/stats", headers=auth(key_globex)).json()["count"] == 0
    assert len(client.get("/v1/events", headers=auth(key_acme)).json()["events"]) == 5
    assert client.get("/v1/events").status_code == 401


def test_cursor_cannot_be_reused_for_another_query(
    api: tuple[TestClient, str, str], store: Store
) -> None:
    client, key, _ = api
    seed(store, "acme", 10)
    cursor = client.get("/v1/events", params={"limit": 2}, headers=auth(key)).json()["next_cursor"]
    r = client.get("/v1/events", params={"cursor": cursor, "actor": "user-1"}, headers=auth(key))
    assert r.status_code == 400
    assert "different query" in r.json()["detail"]
    bad = client.get("/v1/events", params={"cursor": "%%%"}, headers=auth(key))
    assert bad.status_code == 400


def test_export_jsonl_and_csv_hold_every_event_exactly(
    api: tuple[TestClient, str, str], store: Store
) -> None:
    client, key, _ = api
    events = seed(store, "acme", 40)
    lines = client.get("/v1/export", params={"format": "jsonl"}, headers=auth(key)).text
    docs = [json.loads(line) for line in lines.splitlines()]
    assert [d["idempotency_key"] for d in docs] == [e.idempotency_key for e in events]
    assert docs[0]["attributes"]["big"] == 2**70 + 1
    text = client.get(
        "/v1/export", params={"format": "csv", "action": "read"}, headers=auth(key)
    ).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["seq"]) for r in rows] == [e.seq for e in events if e.action == "read"]
    assert json.loads(rows[0]["attributes"])["big"] == 2**70 + 1
