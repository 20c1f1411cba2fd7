"""Roll the pods that use the log's keys when the trusted public keys change.

The query API reads the trusted public keys once, at start. So the operator
keeps a digest of them (and of the receipt key) in the pipeline's
``auditpipe.dev/log-keys`` annotation, as it keeps the Redis primary in another,
and the builders stamp it on the pod templates of worker, ingest and query: new
keys (a renewal, an edit of one's own ConfigMap) roll those pods, and the digest
comes from the pipeline object, so every reconciliation builds the same templates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import kopf

from auditpipe_operator.api.constants import ANNOTATION_LOG_KEYS, API_VERSION, KIND
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.handlers.signing import ensure_signing_keys, trusted_keys
from auditpipe_operator.handlers.status import Problem
from auditpipe_operator.kube.client import Kube, ObjectRef
from auditpipe_operator.resources.meta import content_hash
from auditpipe_operator.resources.signing import RECEIPT_PUBLIC_KEY, public_keys_name


def keys_digest(record: Mapping[str, Any]) -> str | None:
    """A digest of the ConfigMap's trusted keys (None when they are unusable)."""
    keys = trusted_keys(record)
    if keys is None:
        return None
    receipt = (record.get("data") or {}).get(RECEIPT_PUBLIC_KEY)
    return content_hash({"publicKeys": keys, "receiptPublicKey": receipt})


async def prepare_keys(
    kube: Kube, pipeline: Pipeline, logger: kopf.Logger
) -> tuple[Pipeline, Problem | None]:
    """Ensure the keys, and the pipeline with the digest of the keys now trusted."""
    problem = await ensure_signing_keys(kube, pipeline, logger)
    ref = ObjectRef("v1", "ConfigMap", pipeline.namespace, public_keys_name(pipeline))
    record = await kube.get(ref)
    digest = keys_digest(record) if record is not None else None
    if digest is None or digest == pipeline.log_keys_digest:
        return pipeline, problem
    own = ObjectRef(API_VERSION, KIND, pipeline.namespace, pipeline.name)
    await kube.patch(own, {"metadata": {"annotations": {ANNOTATION_LOG_KEYS: digest}}})
    if pipeline.log_keys_digest:
        logger.info("the trusted log keys changed: rolling worker, ingest and query")
    return dataclasses.replace(pipeline, log_keys_digest=digest), problem
