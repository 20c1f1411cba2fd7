"""The AuditPipeline status: conditions, ready counts, endpoints. Written only when changed.

The status is written through the status subresource, which neither changes the
object's generation nor counts as a spec change for kopf, so writing it never
triggers another reconciliation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditpipe_operator.api.constants import API_VERSION, KIND
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.api.status import ConditionType
from auditpipe_operator.handlers.conditions import Verdict, dated
from auditpipe_operator.handlers.observe import WorkloadState
from auditpipe_operator.kube.client import Kube, ObjectRef
from auditpipe_operator.resources.apps import SEQUENCER_PORT
from auditpipe_operator.resources.config import credentials_name
from auditpipe_operator.resources.meta import child_name
from auditpipe_operator.resources.redis import primary_pod
from auditpipe_operator.resources.signing import public_keys_name, signing_secret_name
from auditpipe_operator.resources.worker import retention_env

Problem = tuple[str, str]  # (reason, message) of a failed reconciliation


def ready_verdict(states: Mapping[str, WorkloadState]) -> Verdict:
    """Ready: every component has all its replicas ready."""
    waiting = [f"{name} {s.ready}/{s.desired}" for name, s in states.items() if not s.is_ready]
    if waiting:
        return Verdict(ConditionType.READY, False, "ComponentsNotReady", "; ".join(waiting))
    return Verdict(ConditionType.READY, True, "AllComponentsReady", "every component is ready")


def progressing_verdict(states: Mapping[str, WorkloadState]) -> Verdict:
    """Progressing: a rollout has not finished yet."""
    rolling = [name for name, state in states.items() if not state.rolled_out]
    if rolling:
        message = "rolling out: " + ", ".join(rolling)
        return Verdict(ConditionType.PROGRESSING, True, "RollingOut", message)
    return Verdict(ConditionType.PROGRESSING, False, "RolloutComplete", "nothing to roll out")


def degraded_verdict(problem: Problem | None) -> Verdict:
    """Degraded: the last reconciliation failed."""
    if problem is not None:
        return Verdict(ConditionType.DEGRADED, True, problem[0], problem[1])
    return Verdict(ConditionType.DEGRADED, False, "Reconciled", "desired state applied")


def retention_verdict(pipeline: Pipeline, worker: WorkloadState) -> Verdict:
    """RetentionApplied: the workers run with this generation's retention settings."""
    live = worker.live
    pod: dict[str, Any] = (live or {}).get("spec", {}).get("template", {}).get("spec", {})
    containers = pod.get("containers") or [{}]
    present = {e.get("name"): e.get("value") for e in containers[0].get("env", [])}
    wanted = {e["name"]: e["value"] for e in retention_env(pipeline)}
    retention = pipeline.spec.retention
    summary = f"default {retention.default_days} days, {len(retention.per_tenant)} override(s)"
    kind = ConditionType.RETENTION_APPLIED
    if any(present.get(name) != value for name, value in wanted.items()):
        return Verdict(kind, False, "NotApplied", f"workers not yet configured for {summary}")
    if not worker.rolled_out:
        return Verdict(kind, False, "WorkersRollingOut", f"workers restarting with {summary}")
    message = f"{summary}; applies to events stored from now on"
    return Verdict(kind, True, "WorkersConfigured", message)


def endpoints(pipeline: Pipeline) -> dict[str, str]:
    """In-cluster URLs, and public ones for enabled Ingresses."""
    spec = pipeline.spec
    svc = f"{pipeline.namespace}.svc"
    out = {
        "ingest": f"http://{child_name(pipeline, 'ingest')}.{svc}:{spec.ingest.service.port}",
        "sequencer": f"http://{child_name(pipeline, 'sequencer')}.{svc}:{SEQUENCER_PORT}",
    }
    if spec.query.enabled:
        out["query"] = f"http://{child_name(pipeline, 'query')}.{svc}:{spec.query.service.port}"
    if spec.ingest.ingress.enabled and spec.ingest.ingress.host:
        out["public"] = f"https://{spec.ingest.ingress.host}"
    if spec.query.enabled and spec.query.ingress.enabled and spec.query.ingress.host:
        out["publicQuery"] = f"https://{spec.query.ingress.host}"
    return out


def build_status(
    pipeline: Pipeline,
    states: Mapping[str, WorkloadState],
    problem: Problem | None,
    previous: Mapping[str, Any],
    now: str,
) -> dict[str, Any]:
    """The whole status (camelCase) for this observation."""
    verdicts = [
        ready_verdict(states),
        progressing_verdict(states),
        degraded_verdict(problem),
        retention_verdict(pipeline, states["worker"]),
    ]
    observed = previous.get("observedGeneration", 0) if problem else pipeline.generation
    return {
        "observedGeneration": observed,
        "conditions": dated(verdicts, previous.get("conditions", []), pipeline.generation, now),
        "components": {n: {"desired": s.desired, "ready": s.ready} for n, s in states.items()},
        "endpoints": endpoints(pipeline),
        "redisPrimary": primary_pod(pipeline),
        "credentialsSecret": credentials_name(pipeline),
        "tamperEvidence": {
            "deployment": pipeline.log_deployment,
            "signingKeySecret": signing_secret_name(pipeline),
            "publicKeysConfigMap": public_keys_name(pipeline),
        },
    }


async def write_status(
    kube: Kube, pipeline: Pipeline, status: dict[str, Any], previous: Mapping[str, Any]
) -> bool:
    """Patch the status subresource if anything changed; True if it wrote."""
    if dict(previous) == status:
        return False
    ref = ObjectRef(API_VERSION, KIND, pipeline.namespace, pipeline.name)
    # A merge patch replaces lists; null removes keys the new status no longer has.
    patch = {**{key: None for key in previous if key not in status}, **status}
    await kube.patch(ref, {"status": patch}, subresource="status")
    return True
