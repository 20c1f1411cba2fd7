"""NetworkPolicies: who may reach which component."""

from __future__ import annotations

from typing import Any

from auditpipe_operator.resources.network import network_policies
from auditpipe_operator.testing import find, make_pipeline


def _policies(spec: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return network_policies(make_pipeline(spec))


def _rule(policies: list[dict[str, Any]], name: str) -> dict[str, Any]:
    rule: dict[str, Any] = find(policies, "NetworkPolicy", name)["spec"]["ingress"][0]
    return rule


def test_everything_is_denied_by_default() -> None:
    deny = find(_policies(), "NetworkPolicy", "audit-default-deny")["spec"]
    assert deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny
    assert deny["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "audit"


def test_clients_reach_ingest_and_sequencer_from_anywhere() -> None:
    policies = _policies()
    for name, port in (("audit-allow-ingest", 8700), ("audit-allow-sequencer", 8701)):
        rule = _rule(policies, name)
        assert "from" not in rule
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]


def test_redis_only_from_the_pipeline_components() -> None:
    rule = _rule(_policies(), "audit-allow-redis")
    selector = rule["from"][0]["podSelector"]
    assert selector["matchLabels"]["app.kubernetes.io/instance"] == "audit"
    components = selector["matchExpressions"][0]["values"]
    assert set(components) == {"ingest", "sequencer", "worker", "query", "redis"}


def test_clickhouse_only_from_worker_and_query() -> None:
    rule = _rule(_policies(), "audit-allow-clickhouse")
    assert len(rule["from"]) == 1
    components = rule["from"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert set(components) == {"worker", "query", "clickhouse"}
    altinity = _rule(_policies({"clickhouse": {"mode": "altinity"}}), "audit-allow-clickhouse")
    assert {"app": "clickhouse-operator"} in [
        peer["podSelector"].get("matchLabels") for peer in altinity["from"]
    ]


def test_external_clickhouse_needs_no_policy() -> None:
    spec = {"clickhouse": {"mode": "external", "external": {"host": "h", "credentialsSecret": "c"}}}
    names = [p["metadata"]["name"] for p in _policies(spec)]
    assert "audit-allow-clickhouse" not in names


def test_query_is_namespace_only_unless_exposed() -> None:
    assert _rule(_policies(), "audit-allow-query")["from"] == [{"podSelector": {}}]
    exposed = {"ingress": {"enabled": True, "host": "q.example.com", "tls": {"secretName": "q"}}}
    assert "from" not in _rule(_policies({"query": exposed}), "audit-allow-query")
    names = [p["metadata"]["name"] for p in _policies({"query": {"enabled": False}})]
    assert "audit-allow-query" not in names
