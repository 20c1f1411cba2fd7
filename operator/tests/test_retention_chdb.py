"""A retention change in the AuditPipeline becomes the TTL of the rows in real chDB.

The chain under test: the spec's ``retention`` → the worker Deployment's
environment (as the operator renders it) → the worker's own settings → the
``retention_days`` each stored row carries → ClickHouse's TTL
(``received_at + retention_days``), applied here with ``OPTIMIZE ... FINAL``
instead of waiting for a background merge. Rows keep the retention they were
stored with: a change applies to events stored from then on.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from auditpipe_common.schema import AuditEvent
from auditpipe_common.store import EventColumns, EventFilter, Store
from auditpipe_common.timeutil import now_us
from auditpipe_operator.resources import desired_state
from auditpipe_operator.testing import env_of, find, make_pipeline
from auditpipe_worker.settings import WorkerSettings

pytestmark = pytest.mark.integration

DAY_US = 86_400 * 1_000_000
RETENTION_ENV = ("AUDITPIPE_RETENTION_DAYS", "AUDITPIPE_TENANT_RETENTION_DAYS")


def worker_pod(spec: dict[str, Any], generation: int) -> dict[str, Any]:
    """The worker pod template the operator renders for ``spec``."""
    objects = desired_state(make_pipeline(spec, generation=generation))
    template: dict[str, Any] = find(objects, "Deployment", "audit-worker")["spec"]["template"]
    return template


def worker_settings(pod: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> WorkerSettings:
    """The settings a worker started from ``pod`` reads from its environment."""
    variables = env_of(pod["spec"]["containers"][0])
    for name in RETENTION_ENV:
        monkeypatch.setenv(name, variables[name])
    return WorkerSettings()


def store_received_days_ago(store: Store, settings: WorkerSettings, seqs: range, days: int) -> None:
    """Store acme's and globex's events ``seqs``, received ``days`` ago, as the worker does."""
    rows = EventColumns()
    for tenant in ("acme", "globex"):
        for seq in seqs:
            received = now_us() - days * DAY_US
            ev = AuditEvent(
                tenant=tenant,
                seq=seq,
                idempotency_key=str(uuid.uuid4()),
                occurred_at=received,
                received_at=received,
                action="read",
            )
            rows.append(ev, settings.retention_for(tenant))
    store.insert(rows)


def kept(store: Store, tenant: str) -> list[int]:
    """The tenant's sequence numbers left once ClickHouse applied the TTL."""
    store.query_rows(f"OPTIMIZE TABLE {store.table} FINAL")
    return [ev.seq for ev in store.select(EventFilter(tenant=tenant), limit=100)]


def test_a_retention_change_becomes_the_ttl_of_new_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = {"retention": {"defaultDays": 30, "perTenant": [{"tenant": "acme", "days": 7}]}}
    pod = worker_pod(first, generation=1)
    store_received_days_ago(store, worker_settings(pod, monkeypatch), range(1, 4), days=10)
    assert kept(store, "acme") == []  # 10 days old, kept 7
    assert kept(store, "globex") == [1, 2, 3]  # kept 30

    second = {"retention": {"defaultDays": 5, "perTenant": [{"tenant": "acme", "days": 30}]}}
    changed = worker_pod(second, generation=2)
    assert changed != pod  # the Deployment rolls its workers onto the new settings
    store_received_days_ago(store, worker_settings(changed, monkeypatch), range(4, 7), days=10)
    assert kept(store, "acme") == [4, 5, 6]  # now kept 30
    assert kept(store, "globex") == [1, 2, 3]  # new rows kept 5; older rows keep their 30
