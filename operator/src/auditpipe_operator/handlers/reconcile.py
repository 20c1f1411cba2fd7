"""Create / update / resume / resync: apply the desired state, prune leftovers, report status."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import kopf

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.handlers.errors import as_kopf_error, reason_of
from auditpipe_operator.handlers.events import warn
from auditpipe_operator.handlers.failover import promote_redis
from auditpipe_operator.handlers.observe import observe
from auditpipe_operator.handlers.status import Problem, build_status, write_status
from auditpipe_operator.handlers.trust import prepare_keys
from auditpipe_operator.kube.client import Kube, Manifest, ObjectRef
from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.resources import MANAGED_KINDS, credentials_secret, desired_state
from auditpipe_operator.resources.desired import keys, object_key
from auditpipe_operator.resources.meta import pipeline_selector
from auditpipe_operator.resources.signing import generated_keys_name

Clock = Callable[[], str]
# Volumes are never pruned: StatefulSet claims carry the pipeline's labels too.
PRUNED_KINDS = [(v, k) for v, k in MANAGED_KINDS if k != "PersistentVolumeClaim"]


def utc_now() -> str:
    """The current time as an RFC 3339 timestamp (seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def ensure_credentials(kube: Kube, pipeline: Pipeline) -> bool:
    """Create the credentials Secret if it does not exist; True if it was created.

    The operator never reads it back: it only needs ``create`` on Secrets, and a
    failure message never carries the generated values.
    """
    try:
        return await kube.create(credentials_secret(pipeline))
    except KubeError as exc:
        raise KubeError(exc.status, exc.reason, "creating the credentials Secret failed") from None


async def prune(kube: Kube, pipeline: Pipeline, desired: Sequence[Manifest]) -> list[str]:
    """Delete children this pipeline owns that are no longer desired; their names.

    The generated public keys are never pruned (they record which keys signed the log).
    """
    wanted = keys(desired) | {("ConfigMap", generated_keys_name(pipeline))}
    removed = []
    for api_version, kind in PRUNED_KINDS:
        if kind == "ClickHouseInstallation" and pipeline.spec.clickhouse.mode != "altinity":
            continue
        live = await kube.list(api_version, kind, pipeline.namespace, pipeline_selector(pipeline))
        for obj in live:
            owners = obj["metadata"].get("ownerReferences", [])
            mine = any(owner.get("uid") == pipeline.uid for owner in owners)
            if mine and object_key(obj) not in wanted:
                await kube.delete(ObjectRef.of(obj))
                removed.append(f"{kind}/{obj['metadata']['name']}")
    return removed


async def apply_all(
    kube: Kube, pipeline: Pipeline, config: OperatorConfig, logger: kopf.Logger
) -> Problem | None:
    """Server-side apply every desired child, then prune what is no longer desired.

    A problem with the signing keys does not stop the rest: it is returned, for the
    Degraded condition (the pods that need the keys cannot start without them anyway).
    """
    if await ensure_credentials(kube, pipeline):
        logger.info("created the credentials Secret with a new bootstrap API key")
    pipeline, problem = await prepare_keys(kube, pipeline, logger)
    desired = desired_state(pipeline)
    for obj in desired:
        await kube.apply(obj, config.field_manager)
    removed = await prune(kube, pipeline, desired)
    logger.info("applied %d objects, pruned %d %s", len(desired), len(removed), removed or "")
    return problem


def parse(body: Mapping[str, Any]) -> Pipeline:
    """The pipeline, or a PermanentError: a spec the models refuse will not get better."""
    try:
        return Pipeline.from_body(body)
    except ValueError as exc:
        raise kopf.PermanentError(f"invalid pipeline: {exc}") from exc


async def reconcile(
    kube: Kube,
    body: Mapping[str, Any],
    config: OperatorConfig,
    logger: kopf.Logger,
    clock: Clock = utc_now,
) -> None:
    """Apply the desired state and write the status; raise kopf errors on failure."""
    pipeline = parse(body)
    problem: Problem | None = None
    failure: KubeError | None = None
    now = clock()
    try:
        pipeline = await promote_redis(kube, pipeline, now, logger)
        problem = await apply_all(kube, pipeline, config, logger)
        if problem is not None:  # one Event per pipeline and reason
            reason, message = problem
            await warn(kube, pipeline, reason, reason, message, now=now, logger=logger)
    except KubeError as exc:
        failure, problem = exc, (reason_of(exc), str(exc))
        logger.warning("reconciliation failed: %s", exc)
    try:
        states = await observe(kube, pipeline)
        previous = body.get("status") or {}
        status = build_status(pipeline, states, problem, previous, now)
        await write_status(kube, pipeline, status, previous)
    except KubeError as exc:
        logger.warning("status not written: %s", exc)
        failure = failure or exc
    if failure is not None:
        raise as_kopf_error(failure, config.retry_seconds)
