"""Helpers for tests of the operator and of tools built on it (no cluster needed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditpipe_operator.api.constants import API_VERSION, KIND
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.meta import Manifest


def pipeline_body(
    spec: Mapping[str, Any] | None = None,
    *,
    name: str = "audit",
    namespace: str = "ops",
    uid: str = "uid-1",
    generation: int = 1,
) -> Manifest:
    """An AuditPipeline object as the API server would return it (spec not defaulted)."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "generation": generation},
        "spec": dict(spec or {}),
    }


def make_pipeline(spec: Mapping[str, Any] | None = None, **identity: Any) -> Pipeline:
    """A parsed :class:`Pipeline` from a (partial) spec."""
    return Pipeline.from_body(pipeline_body(spec, **identity))


def find(objects: Iterable[Manifest], kind: str, name: str) -> Manifest:
    """The manifest of ``kind`` called ``name`` (KeyError if absent)."""
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise KeyError(f"no {kind} {name}")


def containers(workload: Manifest) -> list[Manifest]:
    """Init and main containers of a Deployment or StatefulSet."""
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def env_of(container: Manifest) -> dict[str, Any]:
    """``{name: value or valueFrom}`` of a container's environment."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}
