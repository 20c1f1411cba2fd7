"""Names, labels and metadata shared by every child of an AuditPipeline."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from auditpipe_operator.api.constants import (
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    LABEL_PART_OF,
    LABEL_PIPELINE,
    MANAGED_BY,
)
from auditpipe_operator.api.pipeline import Pipeline

Manifest = dict[str, Any]

APP_NAME = "auditpipe"


def child_name(pipeline: Pipeline, suffix: str) -> str:
    """``<pipeline>-<suffix>``: the name of one child object."""
    return f"{pipeline.name}-{suffix}"


def selector_labels(pipeline: Pipeline, component: str) -> dict[str, str]:
    """The stable labels that select one component's pods (never change them)."""
    return {
        LABEL_NAME: APP_NAME,
        LABEL_INSTANCE: pipeline.name,
        LABEL_COMPONENT: component,
    }


def labels(pipeline: Pipeline, component: str) -> dict[str, str]:
    """Every label a child of ``component`` carries."""
    return {
        **selector_labels(pipeline, component),
        LABEL_PART_OF: APP_NAME,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_PIPELINE: pipeline.name,
    }


def pipeline_selector(pipeline: Pipeline) -> str:
    """A label selector matching every child of the pipeline."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_PIPELINE}={pipeline.name}"


def deleted_with_pipeline(pipeline: Pipeline) -> bool:
    """Whether what holds the pipeline's data (volumes, signing keys) goes with it.

    ``deletion.persistentVolumeClaims: Delete`` makes such children owned by the
    pipeline, so the garbage collector removes them; ``Retain`` leaves them unowned.
    """
    return pipeline.spec.deletion.persistent_volume_claims == "Delete"


def metadata(
    pipeline: Pipeline,
    name: str,
    component: str,
    *,
    annotations: Mapping[str, str] | None = None,
    owned: bool = True,
) -> Manifest:
    """``metadata`` of a namespaced child: name, labels, owner reference."""
    meta: Manifest = {
        "name": name,
        "namespace": pipeline.namespace,
        "labels": labels(pipeline, component),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    if owned:
        meta["ownerReferences"] = [pipeline.owner_reference()]
    return meta


def manifest(api_version: str, kind: str, meta: Manifest, **body: Any) -> Manifest:
    """A manifest dict with ``apiVersion``, ``kind``, ``metadata`` and the given fields."""
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def content_hash(data: Any) -> str:
    """A short, stable hash of JSON-able data (for pod template annotations)."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]
