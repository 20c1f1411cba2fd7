"""Workers (Redis Streams to ClickHouse, with retention) and the query API."""

from __future__ import annotations

import json

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.apps import QUERY_PORT, app_container, app_template
from auditpipe_operator.resources.config import store_env
from auditpipe_operator.resources.exposure import autoscaler, deployment, ingress, service
from auditpipe_operator.resources.meta import Manifest, child_name
from auditpipe_operator.resources.pods import env
from auditpipe_operator.resources.signing import (
    keys_annotations,
    query_log_env,
    signing_mount,
    signing_volume,
    worker_log_env,
)


def retention_env(pipeline: Pipeline) -> list[Manifest]:
    """``AUDITPIPE_RETENTION_DAYS`` and ``AUDITPIPE_TENANT_RETENTION_DAYS`` (JSON)."""
    retention = pipeline.spec.retention
    per_tenant = json.dumps(dict(sorted(retention.by_tenant().items())), separators=(",", ":"))
    return [
        env("AUDITPIPE_RETENTION_DAYS", retention.default_days),
        env("AUDITPIPE_TENANT_RETENTION_DAYS", per_tenant),
    ]


def worker_deployment(pipeline: Pipeline) -> Manifest:
    """The worker Deployment (no replica count when an HPA owns it)."""
    spec = pipeline.spec
    variables = [
        *store_env(pipeline),
        *retention_env(pipeline),
        env("AUDITPIPE_BATCH_ROWS", spec.worker.batch_rows),
        env("AUDITPIPE_BATCH_WAIT_MS", spec.worker.batch_wait_ms),
        *worker_log_env(pipeline),
    ]
    main = app_container(
        pipeline,
        "worker",
        spec.images.worker,
        spec.worker.resources,
        extra_env=variables,
        mounts=[signing_mount()],
    )
    # A worker finishes its batch on SIGTERM; give it time to insert and acknowledge.
    volume = signing_volume(pipeline, spec.tamper_evidence.log_keys)
    template = app_template(
        pipeline, "worker", main, volumes=[volume], annotations=keys_annotations(pipeline)
    )
    template["spec"]["terminationGracePeriodSeconds"] = 60
    replicas = None if spec.worker.autoscaling.enabled else spec.worker.replicas
    return deployment(pipeline, "worker", template, replicas=replicas)


def worker_objects(pipeline: Pipeline) -> list[Manifest]:
    """Every object of the worker component, in apply order."""
    objects = [worker_deployment(pipeline)]
    if pipeline.spec.worker.autoscaling.enabled:
        objects.append(autoscaler(pipeline, "worker", pipeline.spec.worker.autoscaling))
    return objects


def query_objects(pipeline: Pipeline) -> list[Manifest]:
    """The query API's Service, Deployment and, when exposed, Ingress (none when disabled)."""
    spec = pipeline.spec
    if not spec.query.enabled:
        return []
    main = app_container(
        pipeline,
        "query",
        spec.images.query,
        spec.query.resources,
        port=QUERY_PORT,
        extra_env=[*store_env(pipeline), *query_log_env(pipeline)],
    )
    template = app_template(pipeline, "query", main, annotations=keys_annotations(pipeline))
    objects = [
        service(pipeline, "query", spec.query.service),
        deployment(pipeline, "query", template, replicas=spec.query.replicas),
    ]
    if spec.query.ingress.enabled:
        route = ("/", child_name(pipeline, "query"), spec.query.service.port)
        objects.append(ingress(pipeline, "query", spec.query.ingress, [route]))
    return objects
