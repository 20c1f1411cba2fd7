"""NetworkPolicies: deny by default; clients reach ingest and the sequencer (and query if
exposed); only the pipeline's own components reach Redis and ClickHouse."""

from __future__ import annotations

from collections.abc import Sequence

from auditpipe_operator.api.constants import LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.apps import INGEST_PORT, QUERY_PORT, SEQUENCER_PORT
from auditpipe_operator.resources.clickhouse import NATIVE_PORT
from auditpipe_operator.resources.config import CLICKHOUSE_HTTP_PORT, REDIS_PORT
from auditpipe_operator.resources.meta import (
    APP_NAME,
    Manifest,
    child_name,
    manifest,
    metadata,
    selector_labels,
)

Peer = Manifest


def _pods_of(pipeline: Pipeline, components: Sequence[str]) -> Peer:
    """A peer: this pipeline's pods of the given components (same namespace)."""
    return {
        "podSelector": {
            "matchLabels": {LABEL_NAME: APP_NAME, LABEL_INSTANCE: pipeline.name},
            "matchExpressions": [
                {"key": LABEL_COMPONENT, "operator": "In", "values": list(components)}
            ],
        }
    }


def _policy(
    pipeline: Pipeline,
    suffix: str,
    selector: Manifest,
    ports: Sequence[int],
    peers: Sequence[Peer] | None,
) -> Manifest:
    """Allow ``peers`` (None: anyone) to reach ``ports`` of the selected pods."""
    rule: Manifest = {"ports": [{"protocol": "TCP", "port": port} for port in ports]}
    if peers is not None:
        rule["from"] = list(peers)
    spec = {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": [rule]}
    meta = metadata(pipeline, child_name(pipeline, f"allow-{suffix}"), "network")
    return manifest("networking.k8s.io/v1", "NetworkPolicy", meta, spec=spec)


def default_deny(pipeline: Pipeline) -> Manifest:
    """No ingress to any pod of the pipeline unless another policy allows it."""
    selector = {"matchLabels": {LABEL_NAME: APP_NAME, LABEL_INSTANCE: pipeline.name}}
    spec = {"podSelector": selector, "policyTypes": ["Ingress"]}
    meta = metadata(pipeline, child_name(pipeline, "default-deny"), "network")
    return manifest("networking.k8s.io/v1", "NetworkPolicy", meta, spec=spec)


def component_selector(pipeline: Pipeline, component: str) -> Manifest:
    """``podSelector`` of one component."""
    return {"matchLabels": selector_labels(pipeline, component)}


def network_policies(pipeline: Pipeline) -> list[Manifest]:
    """Every NetworkPolicy of the pipeline."""
    spec = pipeline.spec
    same_namespace: list[Peer] = [{"podSelector": {}}]
    query_peers = None if spec.query.ingress.enabled else same_namespace
    writers = _pods_of(pipeline, ["ingest", "sequencer", "worker", "query", "redis"])
    readers = _pods_of(pipeline, ["worker", "query", "clickhouse"])
    sel = component_selector
    policies = [
        default_deny(pipeline),
        _policy(pipeline, "ingest", sel(pipeline, "ingest"), [INGEST_PORT], None),
        _policy(pipeline, "sequencer", sel(pipeline, "sequencer"), [SEQUENCER_PORT], None),
        _policy(pipeline, "redis", sel(pipeline, "redis"), [REDIS_PORT], [writers]),
    ]
    if spec.query.enabled:
        policies.append(
            _policy(pipeline, "query", sel(pipeline, "query"), [QUERY_PORT], query_peers)
        )
    if spec.clickhouse.mode != "external":
        ports = [CLICKHOUSE_HTTP_PORT, NATIVE_PORT, 9009]
        peers = [readers, *_altinity_operator(pipeline)]
        policies.append(_policy(pipeline, "clickhouse", sel(pipeline, "clickhouse"), ports, peers))
    return policies


def _altinity_operator(pipeline: Pipeline) -> list[Peer]:
    """The Altinity operator (any namespace) queries the servers it manages."""
    if pipeline.spec.clickhouse.mode != "altinity":
        return []
    return [
        {
            "namespaceSelector": {},
            "podSelector": {"matchLabels": {"app": "clickhouse-operator"}},
        }
    ]
