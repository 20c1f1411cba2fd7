"""Redis failover: promote a ready replica once the primary pod has been down long enough.

Only under ``failover.redisPrimaryLoss: PromoteReplica``. The decision is the
operator's; carrying it out is not: the operator records the new primary's
ordinal in the pipeline's ``auditpipe.dev/redis-primary`` annotation, the next
apply moves the client Service and the ConfigMap's ``primary`` key to it, and
the role agents in the Redis pods switch the servers' roles (see
:mod:`auditpipe_operator.resources.redis`). The operator never talks to Redis,
and never reads the Secret holding its password.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import kopf

from auditpipe_operator.api.constants import ANNOTATION_REDIS_PRIMARY, API_VERSION, KIND
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.handlers.events import warn
from auditpipe_operator.kube.client import Kube, ObjectRef
from auditpipe_operator.resources.meta import child_name, selector_labels


def timestamp(text: str) -> datetime:
    """An RFC 3339 time as the API server writes it (``...Z``)."""
    return datetime.fromisoformat(text)


def down_since(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod stopped being ready (None while it is ready and not going away)."""
    meta = pod["metadata"]
    if meta.get("deletionTimestamp"):
        return timestamp(meta["deletionTimestamp"])
    conditions = pod.get("status", {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None:
        return timestamp(meta["creationTimestamp"])
    if ready.get("status") == "True":
        return None
    return timestamp(ready.get("lastTransitionTime") or meta["creationTimestamp"])


async def list_redis_pods(kube: Kube, pipeline: Pipeline) -> dict[int, dict[str, Any]]:
    """The pipeline's Redis pods by ordinal."""
    selector = ",".join(f"{k}={v}" for k, v in selector_labels(pipeline, "redis").items())
    prefix = f"{child_name(pipeline, 'redis')}-"
    pods = await kube.list("v1", "Pod", pipeline.namespace, selector)
    out = {}
    for pod in pods:
        suffix = pod["metadata"]["name"].removeprefix(prefix)
        if suffix.isdigit():
            out[int(suffix)] = pod
    return out


def candidate(pods: Mapping[int, Mapping[str, Any]], pipeline: Pipeline) -> int | None:
    """The ready replica with the lowest ordinal, if any."""
    ready = [
        ordinal
        for ordinal, pod in pods.items()
        if ordinal != pipeline.redis_primary
        and ordinal < pipeline.redis_pods
        and down_since(pod) is None
    ]
    return min(ready, default=None)


async def promote_redis(kube: Kube, pipeline: Pipeline, now: str, logger: kopf.Logger) -> Pipeline:
    """The pipeline, with a new Redis primary if the policy and the pods call for one."""
    failover = pipeline.spec.failover
    if failover.redis_primary_loss != "PromoteReplica":
        return pipeline
    pods = await list_redis_pods(kube, pipeline)
    primary = pods.get(pipeline.redis_primary)
    since = down_since(primary) if primary is not None else None
    if since is None:  # ready, or missing: the StatefulSet is bringing it back
        return pipeline
    down = (timestamp(now) - since).total_seconds()
    if down < failover.redis_promotion_grace_seconds:
        return pipeline
    lost = f"Redis primary {child_name(pipeline, f'redis-{pipeline.redis_primary}')}"
    chosen = candidate(pods, pipeline)
    if chosen is None:
        message = f"{lost} down for {down:.0f} s and no replica is ready to take over"
        key = str(pipeline.redis_primary)
        await warn(kube, pipeline, "RedisPrimaryLost", key, message, now=now, logger=logger)
        return pipeline
    ref = ObjectRef(API_VERSION, KIND, pipeline.namespace, pipeline.name)
    patch = {"metadata": {"annotations": {ANNOTATION_REDIS_PRIMARY: str(chosen)}}}
    await kube.patch(ref, patch)
    promoted = child_name(pipeline, f"redis-{chosen}")
    message = f"{lost} down for {down:.0f} s: promoted replica {promoted}"
    key = f"{pipeline.redis_primary}-{chosen}"
    await warn(kube, pipeline, "RedisReplicaPromoted", key, message, now=now, logger=logger)
    return dataclasses.replace(pipeline, redis_primary=chosen)
