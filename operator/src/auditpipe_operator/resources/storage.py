"""Persistent volume claims: standalone ones and StatefulSet templates."""

from __future__ import annotations

from auditpipe_operator.api.base import Storage
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.meta import (
    Manifest,
    deleted_with_pipeline,
    labels,
    manifest,
    metadata,
)


def claim_spec(storage: Storage) -> Manifest:
    """``spec`` of a ReadWriteOnce claim."""
    spec: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": str(storage.size)}},
    }
    if storage.storage_class_name:
        spec["storageClassName"] = storage.storage_class_name
    return spec


def claim(pipeline: Pipeline, name: str, component: str, storage: Storage) -> Manifest:
    """A standalone claim, owned by the pipeline only when the deletion policy is Delete."""
    meta = metadata(pipeline, name, component, owned=deleted_with_pipeline(pipeline))
    return manifest("v1", "PersistentVolumeClaim", meta, spec=claim_spec(storage))


def claim_template(pipeline: Pipeline, component: str, storage: Storage) -> Manifest:
    """A StatefulSet ``volumeClaimTemplates`` entry named ``data``."""
    return {
        "metadata": {"name": "data", "labels": labels(pipeline, component)},
        "spec": claim_spec(storage),
    }


def claim_retention(pipeline: Pipeline) -> Manifest:
    """StatefulSet ``persistentVolumeClaimRetentionPolicy`` from the deletion policy."""
    when_deleted = pipeline.spec.deletion.persistent_volume_claims
    return {"whenDeleted": when_deleted, "whenScaled": "Retain"}
