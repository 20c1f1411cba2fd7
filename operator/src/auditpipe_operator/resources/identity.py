"""The ServiceAccount the pipeline's pods run as (no API token mounted)."""

from __future__ import annotations

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.meta import Manifest, manifest, metadata


def service_account(pipeline: Pipeline) -> Manifest:
    """A ServiceAccount named after the pipeline; its pods need no Kubernetes API access."""
    meta = metadata(pipeline, pipeline.name, "identity")
    return manifest("v1", "ServiceAccount", meta, automountServiceAccountToken=False)
