"""Redis failover decisions against an in-memory API server: when to promote, and whom."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from auditpipe_operator.api.constants import ANNOTATION_REDIS_PRIMARY
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.handlers.failover import down_since, promote_redis
from auditpipe_operator.handlers.reconcile import reconcile
from auditpipe_operator.kube.client import ObjectRef
from auditpipe_operator.kube.memory import MemoryKube
from auditpipe_operator.resources.meta import selector_labels
from auditpipe_operator.testing import make_pipeline, pipeline_body

PROMOTE = {"redis": {"replicas": 3}, "failover": {"redisPrimaryLoss": "PromoteReplica"}}
CREATED = "2026-01-01T00:00:00Z"
DOWN_AT = "2026-01-01T01:00:00Z"
SOON = "2026-01-01T01:00:20Z"  # 20 s later: within the default 30 s grace
LATE = "2026-01-01T01:00:45Z"  # 45 s later: past it
PIPELINE = ObjectRef("auditpipe.dev/v1alpha1", "AuditPipeline", "ops", "audit")


def add_pod(kube: MemoryKube, ordinal: int, ready: bool | None, **meta: Any) -> None:
    """A Redis pod; ``ready=None``: no Ready condition yet (pending)."""
    pipeline = make_pipeline()
    status: dict[str, Any] = {}
    if ready is not None:
        condition = {"type": "Ready", "status": str(ready), "lastTransitionTime": DOWN_AT}
        status["conditions"] = [condition]
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"audit-redis-{ordinal}",
                "namespace": "ops",
                "labels": selector_labels(pipeline, "redis"),
                "creationTimestamp": CREATED,
                **meta,
            },
            "status": status,
        }
    )


async def promote(kube: MemoryKube, now: str, spec: dict[str, Any] | None = None) -> int:
    pipeline = make_pipeline(PROMOTE if spec is None else spec)
    promoted = await promote_redis(kube, pipeline, now, logging.getLogger("test"))
    return promoted.redis_primary


def test_down_since_reads_readiness_pending_and_deletion() -> None:
    meta = {"name": "p", "creationTimestamp": CREATED}
    ready = {"type": "Ready", "status": "True", "lastTransitionTime": CREATED}
    assert down_since({"metadata": meta, "status": {"conditions": [ready]}}) is None
    not_ready = {**ready, "status": "False", "lastTransitionTime": DOWN_AT}
    since = down_since({"metadata": meta, "status": {"conditions": [not_ready]}})
    assert since is not None
    assert since.isoformat() == "2026-01-01T01:00:00+00:00"
    pending = down_since({"metadata": meta, "status": {}})
    assert pending is not None
    assert pending.isoformat().startswith("2026-01-01T00:00")
    going = {**meta, "deletionTimestamp": DOWN_AT}
    gone = down_since({"metadata": going, "status": {"conditions": [ready]}})
    assert gone is not None
    assert gone.hour == 1


async def test_a_ready_primary_is_kept(kube: MemoryKube) -> None:
    for ordinal in range(3):
        add_pod(kube, ordinal, ready=True)
    assert await promote(kube, LATE) == 0


async def test_no_promotion_within_the_grace_period(kube: MemoryKube) -> None:
    kube.add(pipeline_body(PROMOTE))
    add_pod(kube, 0, ready=False)
    add_pod(kube, 1, ready=True)
    assert await promote(kube, SOON) == 0
    assert "annotations" not in kube.objects[PIPELINE]["metadata"]


async def test_past_the_grace_the_lowest_ready_replica_is_promoted(kube: MemoryKube) -> None:
    kube.add(pipeline_body(PROMOTE))
    add_pod(kube, 0, ready=False)
    add_pod(kube, 1, ready=False)
    add_pod(kube, 2, ready=True)
    assert await promote(kube, LATE) == 2
    annotations = kube.objects[PIPELINE]["metadata"]["annotations"]
    assert annotations[ANNOTATION_REDIS_PRIMARY] == "2"
    events = [o for o in kube.objects.values() if o["kind"] == "Event"]
    assert [(e["type"], e["reason"]) for e in events] == [("Warning", "RedisReplicaPromoted")]
    assert events[0]["message"] == (
        "Redis primary audit-redis-0 down for 45 s: promoted replica audit-redis-2"
    )
    assert events[0]["involvedObject"]["name"] == "audit"


async def test_a_pending_primary_counts_as_down_since_created(kube: MemoryKube) -> None:
    kube.add(pipeline_body(PROMOTE))
    add_pod(kube, 0, ready=None)
    add_pod(kube, 1, ready=True)
    assert await promote(kube, LATE) == 1


async def test_a_primary_lost_without_a_ready_replica_is_reported_once(
    kube: MemoryKube,
) -> None:
    kube.add(pipeline_body(PROMOTE))
    add_pod(kube, 0, ready=False)
    add_pod(kube, 1, ready=False)
    for now in (LATE, "2026-01-01T01:01:15Z"):  # two resyncs
        assert await promote(kube, now) == 0
    events = [o for o in kube.objects.values() if o["kind"] == "Event"]
    assert [e["reason"] for e in events] == ["RedisPrimaryLost"]
    assert "no replica is ready" in events[0]["message"]


@pytest.mark.parametrize(
    ("spec", "pods"),
    [
        ({"redis": {"replicas": 3}}, [(0, False), (1, True)]),  # Manual policy
        (PROMOTE, [(1, True)]),  # the primary pod is missing: being recreated
    ],
    ids=["manual", "primary-missing"],
)
async def test_no_promotion(
    kube: MemoryKube, spec: dict[str, Any], pods: list[tuple[int, bool]]
) -> None:
    for ordinal, ready in pods:
        add_pod(kube, ordinal, ready=ready)
    assert await promote(kube, LATE, spec) == 0


async def test_reconcile_applies_the_promotion_at_once(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    kube.add(pipeline_body(PROMOTE))
    add_pod(kube, 0, ready=False)
    add_pod(kube, 1, ready=True)
    await reconcile(kube, kube.objects[PIPELINE], config, logger, clock=lambda: LATE)
    service = kube.named("Service", "audit-redis")
    assert service is not None
    assert service["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] == "audit-redis-1"
    config_map = kube.named("ConfigMap", "audit-redis-config")
    assert config_map is not None
    assert config_map["data"]["primary"] == "1"
    assert kube.objects[PIPELINE]["status"]["redisPrimary"] == "audit-redis-1"


def test_a_bad_primary_annotation_is_refused() -> None:
    body = pipeline_body()
    body["metadata"]["annotations"] = {ANNOTATION_REDIS_PRIMARY: "one"}
    with pytest.raises(ValueError, match="redis-primary"):
        Pipeline.from_body(body)
