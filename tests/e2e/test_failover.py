"""Redis failover on the cluster: the operator promotes a replica when the primary is lost.

The primary pod's loss is staged by reporting it not Ready (a status patch, as
the node lifecycle controller does for a lost node); the pods are kwok fakes,
so no redis-server runs here. What the pods do with the promotion (the role
agents, the old primary fenced) is tested on real redis-server processes in
``operator/tests/test_redis_scripts.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from auditpipe_operator.api.constants import ANNOTATION_REDIS_PRIMARY
from tests.e2e.cluster import Cluster, Manifest, wait_until
from tests.e2e.pipelines import CONDITIONS, KIND, Namespaces, apply_example, wait_settled

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("fake_pods_only")]


def set_ready(cluster: Cluster, namespace: str, pod: str, ready: bool, ago: float = 0) -> None:
    """Report ``pod`` (not) Ready since ``ago`` seconds."""
    since = (datetime.now(UTC) - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    condition = {"type": "Ready", "status": str(ready), "lastTransitionTime": since}
    patch = json.dumps({"status": {"conditions": [condition]}})
    cluster.kubectl("patch", "pod", pod, "-n", namespace, "--subresource=status", "-p", patch)


def primary_of(cluster: Cluster, namespace: str) -> str | None:
    """The promoted ordinal, once the annotation, the Service and the ConfigMap agree."""
    body = cluster.must_get(KIND, "audit", namespace)
    ordinal = body["metadata"].get("annotations", {}).get(ANNOTATION_REDIS_PRIMARY)
    service = cluster.must_get("service", "audit-redis", namespace)
    config = cluster.must_get("configmap", "audit-redis-config", namespace)
    pod = service["spec"]["selector"]["statefulset.kubernetes.io/pod-name"]
    if ordinal and pod == f"audit-redis-{ordinal}" and config["data"]["primary"] == ordinal:
        return ordinal
    return None


def warnings(cluster: Cluster, namespace: str) -> list[Manifest]:
    """Warning events about the pipeline."""
    events = cluster.items("events", namespace)
    return [
        e
        for e in events
        if e["type"] == "Warning" and e["involvedObject"]["kind"] == "AuditPipeline"
    ]


def test_a_lost_primary_is_replaced_by_its_replica(
    cluster: Cluster, namespaces: Namespaces
) -> None:
    namespace = namespaces.create("failover")
    apply_example(cluster, namespace, {"failover": {"redisPromotionGraceSeconds": 15}})
    wait_settled(cluster, namespace)
    redis = cluster.must_get("statefulset", "audit-redis", namespace)

    set_ready(cluster, namespace, "audit-redis-0", ready=False, ago=20)
    assert wait_until(lambda: primary_of(cluster, namespace), "the promotion") == "1"

    def reported() -> Manifest | None:
        body = cluster.must_get(KIND, "audit", namespace)
        return body if body["status"].get("redisPrimary") == "audit-redis-1" else None

    body = wait_until(reported, "status.redisPrimary")
    assert body["status"]["components"]["redis"] == {"desired": 2, "ready": 1}
    after = cluster.must_get("statefulset", "audit-redis", namespace)
    assert after["metadata"]["generation"] == redis["metadata"]["generation"]  # no pod rolled
    messages = [e["message"] for e in wait_until(lambda: warnings(cluster, namespace), "event")]
    assert any("promoted replica audit-redis-1" in m for m in messages)

    set_ready(cluster, namespace, "audit-redis-0", ready=True)  # the old primary is back
    wait_settled(cluster, namespace, wanted=CONDITIONS)
    assert primary_of(cluster, namespace) == "1"  # as a replica: no fail-back


def test_a_primary_down_for_less_than_the_grace_is_kept(
    cluster: Cluster, namespaces: Namespaces
) -> None:
    namespace = namespaces.create("no-failover")
    apply_example(cluster, namespace, {"failover": {"redisPromotionGraceSeconds": 3600}})
    wait_settled(cluster, namespace)
    set_ready(cluster, namespace, "audit-redis-0", ready=False, ago=20)

    def reported() -> Manifest | None:
        body = cluster.must_get(KIND, "audit", namespace)
        return body if body["status"]["components"]["redis"]["ready"] == 1 else None

    body = wait_until(reported, "the primary reported not ready")
    assert ANNOTATION_REDIS_PRIMARY not in body["metadata"].get("annotations", {})
    assert body["status"]["redisPrimary"] == "audit-redis-0"
