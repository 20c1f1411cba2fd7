"""Pod and container building blocks: security, images, env, probes, templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auditpipe_operator.api.base import ImageRef, ResourceRequirements
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.meta import Manifest, labels, selector_labels

# Resources of the small shell helpers (init containers, the Redis role agent).
HELPER_RESOURCES = ResourceRequirements(
    requests={"cpu": "10m", "memory": "16Mi"}, limits={"memory": "64Mi"}
)


def pod_security_context(pipeline: Pipeline) -> Manifest:
    """The pod-level security context from ``spec.security``."""
    security = pipeline.spec.security
    return {
        "runAsNonRoot": security.run_as_non_root,
        "runAsUser": security.run_as_user,
        "runAsGroup": security.run_as_group,
        "fsGroup": security.fs_group,
        "seccompProfile": {"type": security.seccomp_profile},
    }


def container_security_context(pipeline: Pipeline, *, read_only: bool | None = None) -> Manifest:
    """No privilege escalation, no capabilities, a read-only root unless told otherwise."""
    if read_only is None:
        read_only = pipeline.spec.security.read_only_root_filesystem
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(requirements: ResourceRequirements) -> Manifest:
    """A container's ``resources`` (quantities as strings)."""
    out: Manifest = {}
    if requirements.requests:
        out["requests"] = {k: str(v) for k, v in requirements.requests.items()}
    if requirements.limits:
        out["limits"] = {k: str(v) for k, v in requirements.limits.items()}
    return out


def env(name: str, value: str | int) -> Manifest:
    """A literal environment variable."""
    return {"name": name, "value": str(value)}


def secret_env(name: str, secret: str, key: str) -> Manifest:
    """An environment variable read from a Secret key."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def configmap_env(name: str, configmap: str, key: str) -> Manifest:
    """An environment variable read from a ConfigMap key."""
    return {"name": name, "valueFrom": {"configMapKeyRef": {"name": configmap, "key": key}}}


def container(
    pipeline: Pipeline,
    name: str,
    image: ImageRef,
    requirements: ResourceRequirements,
    **extra: Any,
) -> Manifest:
    """A container with the pipeline's pull policy and security settings."""
    base: Manifest = {
        "name": name,
        "image": image.reference,
        "imagePullPolicy": pipeline.spec.images.pull_policy,
        "resources": resources(requirements),
        "securityContext": container_security_context(pipeline),
    }
    return {**base, **extra}


def http_probe(path: str, port: str = "http", period: int = 10) -> Manifest:
    """An HTTP GET probe on a named port."""
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }


def exec_probe(command: Sequence[str], period: int = 10) -> Manifest:
    """A probe that runs a command in the container."""
    return {
        "exec": {"command": list(command)},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


def pod_template(
    pipeline: Pipeline,
    component: str,
    containers: Sequence[Manifest],
    *,
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> Manifest:
    """A pod template: labels, service account, pull secrets, security context."""
    pod_spec: Manifest = {
        "serviceAccountName": pipeline.name,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(pipeline),
        "containers": list(containers),
        **spec,
    }
    pull_secrets = [{"name": ref.name} for ref in pipeline.spec.image_pull_secrets]
    if pull_secrets:
        pod_spec["imagePullSecrets"] = pull_secrets
    meta: Manifest = {"labels": labels(pipeline, component)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta, "spec": pod_spec}


def label_selector(pipeline: Pipeline, component: str) -> Manifest:
    """``selector`` of a workload or a disruption budget."""
    return {"matchLabels": selector_labels(pipeline, component)}


def empty_dir(name: str, medium: str | None = None) -> Manifest:
    """A scratch volume."""
    return {"name": name, "emptyDir": {"medium": medium} if medium else {}}
