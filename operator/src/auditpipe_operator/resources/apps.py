"""The containers and pod templates of auditpipe's own deployables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditpipe_operator.api.base import ImageRef, ResourceRequirements
from auditpipe_operator.api.constants import ANNOTATION_SETTINGS_HASH
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.config import redis_env, settings_env_from, settings_hash
from auditpipe_operator.resources.meta import Manifest
from auditpipe_operator.resources.pods import container, empty_dir, env, http_probe, pod_template

INGEST_PORT = 8700
SEQUENCER_PORT = 8701
QUERY_PORT = 8702


def app_container(
    pipeline: Pipeline,
    component: str,
    image: ImageRef,
    requirements: ResourceRequirements,
    *,
    port: int | None = None,
    extra_env: Sequence[Manifest] = (),
    mounts: Sequence[Manifest] = (),
) -> Manifest:
    """``python -m auditpipe_<component>`` with shared settings, Redis and, for HTTP, probes."""
    variables = [*redis_env(pipeline), *extra_env]
    extra: Manifest = {
        "command": ["python", "-m", f"auditpipe_{component}"],
        "envFrom": settings_env_from(pipeline),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *mounts],  # noqa: S108
    }
    if port is not None:
        variables.append(env("AUDITPIPE_PORT", port))
        extra["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        extra["readinessProbe"] = http_probe("/readyz", period=5)
        extra["livenessProbe"] = http_probe("/livez", period=10)
    extra["env"] = variables
    return container(pipeline, component, image, requirements, **extra)


def app_template(
    pipeline: Pipeline,
    component: str,
    main: Manifest,
    *,
    init_containers: Sequence[Manifest] = (),
    volumes: Sequence[Manifest] = (),
    annotations: Mapping[str, str] | None = None,
) -> Manifest:
    """A pod template for an auditpipe deployable, rolled when the shared settings change
    (or any of ``annotations``)."""
    spec: Manifest = {"volumes": [empty_dir("tmp"), *volumes], "terminationGracePeriodSeconds": 30}
    if init_containers:
        spec["initContainers"] = list(init_containers)
    annotations = {ANNOTATION_SETTINGS_HASH: settings_hash(pipeline), **(annotations or {})}
    return pod_template(pipeline, component, [main], annotations=annotations, **spec)
