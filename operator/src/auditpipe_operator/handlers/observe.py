"""Read the live workloads of a pipeline: replicas wanted and ready, rollout finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.kube.client import Kube, ObjectRef
from auditpipe_operator.resources.clickhouse import ALTINITY_API_VERSION
from auditpipe_operator.resources.meta import Manifest, child_name

COMPONENTS = ("ingest", "sequencer", "worker", "query", "redis", "clickhouse")


@dataclass(frozen=True)
class WorkloadState:
    """One component as observed."""

    desired: int
    ready: int
    rolled_out: bool
    live: Manifest | None = None

    @property
    def is_ready(self) -> bool:
        """All wanted replicas are ready (a component scaled to 0 counts as ready)."""
        return self.ready >= self.desired and (self.live is not None or self.desired == 0)


def workload_state(obj: Manifest | None, fallback_desired: int) -> WorkloadState:
    """State of a Deployment or StatefulSet (absent: nothing ready, not rolled out)."""
    if obj is None:
        return WorkloadState(fallback_desired, 0, fallback_desired == 0)
    spec: dict[str, Any] = obj.get("spec", {})
    status: dict[str, Any] = obj.get("status", {})
    desired = int(spec.get("replicas", fallback_desired))
    ready = int(status.get("readyReplicas", 0))
    current = int(status.get("observedGeneration", 0)) >= int(obj["metadata"].get("generation", 0))
    updated = int(status.get("updatedReplicas", 0)) >= desired
    return WorkloadState(desired, ready, current and updated, obj)


def installation_state(obj: Manifest | None, desired: int) -> WorkloadState:
    """State of a ClickHouseInstallation: ready when the Altinity operator says Completed."""
    done = obj is not None and obj.get("status", {}).get("status") == "Completed"
    return WorkloadState(desired, desired if done else 0, done, obj)


def _expected(pipeline: Pipeline) -> dict[str, tuple[str, int]]:
    """``{component: (workload kind, replicas the spec asks for)}``."""
    spec = pipeline.spec
    ingest = spec.ingest.autoscaling.min_replicas if spec.ingest.autoscaling.enabled else None
    worker = spec.worker.autoscaling.min_replicas if spec.worker.autoscaling.enabled else None
    return {
        "ingest": ("Deployment", ingest if ingest is not None else spec.ingest.replicas),
        "sequencer": ("Deployment", spec.sequencer.replicas),
        "worker": ("Deployment", worker if worker is not None else spec.worker.replicas),
        "query": ("Deployment", spec.query.replicas if spec.query.enabled else 0),
        "redis": ("StatefulSet", pipeline.redis_pods),
        "clickhouse": ("StatefulSet", 1),
    }


async def observe(kube: Kube, pipeline: Pipeline) -> dict[str, WorkloadState]:
    """The state of every component of ``pipeline``."""
    states: dict[str, WorkloadState] = {}
    for component, (kind, replicas) in _expected(pipeline).items():
        if component == "query" and not pipeline.spec.query.enabled:
            states[component] = WorkloadState(0, 0, True)
            continue
        if component == "clickhouse" and pipeline.spec.clickhouse.mode != "statefulset":
            states[component] = await _clickhouse_elsewhere(kube, pipeline)
            continue
        ref = ObjectRef("apps/v1", kind, pipeline.namespace, child_name(pipeline, component))
        states[component] = workload_state(await kube.get(ref), replicas)
    return states


async def _clickhouse_elsewhere(kube: Kube, pipeline: Pipeline) -> WorkloadState:
    ch = pipeline.spec.clickhouse
    if ch.mode == "external":
        return WorkloadState(0, 0, True)
    ref = ObjectRef(
        ALTINITY_API_VERSION, "ClickHouseInstallation", pipeline.namespace, pipeline.name
    )
    return installation_state(await kube.get(ref), ch.shards * ch.replicas)
