"""Workers and query: retention, batch size, store DSN per ClickHouse mode, HPA."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditpipe_operator.resources import desired_state
from auditpipe_operator.testing import env_of, find, make_pipeline

EXTERNAL = {
    "mode": "external",
    "external": {"host": "ch.example.com", "port": 8443, "secure": True, "credentialsSecret": "ch"},
}


def _worker_env(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    deployment = find(desired_state(make_pipeline(spec)), "Deployment", "audit-worker")
    return env_of(deployment["spec"]["template"]["spec"]["containers"][0])


def test_retention_becomes_the_worker_settings() -> None:
    retention = {
        "defaultDays": 90,
        "perTenant": [{"tenant": "globex", "days": 3650}, {"tenant": "acme", "days": 30}],
    }
    variables = _worker_env({"retention": retention})
    assert variables["AUDITPIPE_RETENTION_DAYS"] == "90"
    assert json.loads(variables["AUDITPIPE_TENANT_RETENTION_DAYS"]) == {
        "acme": 30,
        "globex": 3650,
    }
    assert variables["AUDITPIPE_TENANT_RETENTION_DAYS"] == '{"acme":30,"globex":3650}'


def test_default_retention_is_400_days_and_no_overrides() -> None:
    variables = _worker_env()
    assert variables["AUDITPIPE_RETENTION_DAYS"] == "400"
    assert variables["AUDITPIPE_TENANT_RETENTION_DAYS"] == "{}"


def test_retention_values_parse_with_the_worker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditpipe_worker.settings import WorkerSettings

    variables = _worker_env({"retention": {"perTenant": [{"tenant": "acme", "days": 7}]}})
    for name in ("AUDITPIPE_RETENTION_DAYS", "AUDITPIPE_TENANT_RETENTION_DAYS"):
        monkeypatch.setenv(name, variables[name])
    settings = WorkerSettings()
    assert settings.retention_for("acme") == 7
    assert settings.retention_for("other") == 400


def test_batch_settings_and_command() -> None:
    variables = _worker_env({"worker": {"batchRows": 5000, "batchWaitMs": 100}})
    assert variables["AUDITPIPE_BATCH_ROWS"] == "5000"
    assert variables["AUDITPIPE_BATCH_WAIT_MS"] == "100"
    deployment = find(desired_state(make_pipeline()), "Deployment", "audit-worker")
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    assert main["command"] == ["python", "-m", "auditpipe_worker"]
    assert "ports" not in main
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 60


def test_store_dsn_for_the_operators_clickhouse() -> None:
    variables = _worker_env()
    assert variables["AUDITPIPE_STORE_DSN"] == (
        "http://$(CLICKHOUSE_USER):$(CLICKHOUSE_PASSWORD)@audit-clickhouse:8123"
    )
    assert variables["CLICKHOUSE_USER"] == "auditpipe"
    assert variables["CLICKHOUSE_PASSWORD"] == {
        "secretKeyRef": {"name": "audit-credentials", "key": "clickhouse-password"}
    }


def test_store_dsn_for_altinity_and_external() -> None:
    altinity = _worker_env({"clickhouse": {"mode": "altinity"}})
    assert "@clickhouse-audit:8123" in altinity["AUDITPIPE_STORE_DSN"]
    external = _worker_env({"clickhouse": EXTERNAL})
    assert external["AUDITPIPE_STORE_DSN"].startswith("https://")
    assert external["AUDITPIPE_STORE_DSN"].endswith("@ch.example.com:8443")
    assert external["CLICKHOUSE_USER"] == {"secretKeyRef": {"name": "ch", "key": "username"}}
    assert external["CLICKHOUSE_PASSWORD"] == {"secretKeyRef": {"name": "ch", "key": "password"}}


def test_worker_autoscaling() -> None:
    objects = desired_state(make_pipeline({"worker": {"autoscaling": {"enabled": True}}}))
    assert "replicas" not in find(objects, "Deployment", "audit-worker")["spec"]
    hpa = find(objects, "HorizontalPodAutoscaler", "audit-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "audit-worker"
    fixed = desired_state(make_pipeline({"worker": {"replicas": 4}}))
    assert find(fixed, "Deployment", "audit-worker")["spec"]["replicas"] == 4


def test_query_service_ingress_and_disabling() -> None:
    spec = {
        "query": {
            "replicas": 2,
            "ingress": {"enabled": True, "host": "q.example.com", "tls": {"secretName": "q"}},
        }
    }
    objects = desired_state(make_pipeline(spec))
    deployment = find(objects, "Deployment", "audit-query")
    assert deployment["spec"]["replicas"] == 2
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    assert env_of(main)["AUDITPIPE_PORT"] == "8702"
    assert "AUDITPIPE_STORE_DSN" in env_of(main)
    ingress = find(objects, "Ingress", "audit-query")
    assert ingress["spec"]["rules"][0]["host"] == "q.example.com"
    disabled = desired_state(make_pipeline({"query": {"enabled": False}}))
    assert not [o for o in disabled if o["metadata"]["name"] == "audit-query"]
