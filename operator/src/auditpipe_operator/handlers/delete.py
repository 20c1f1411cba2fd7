"""Deletion: clean up per the deletion policy, and never keep the finalizer forever.

Owned children go with the pipeline through the garbage collector. Volume
claims are what the policy decides: ``Retain`` marks them with the pipeline they
came from, ``Delete`` deletes them. Each claim is tried even if another fails;
after ``delete_retries`` failed attempts the handler gives up with a warning, so
kopf releases the finalizer and the deletion completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from auditpipe_operator.api.constants import (
    ANNOTATION_RETAINED,
    LABEL_MANAGED_BY,
    LABEL_PIPELINE,
    MANAGED_BY,
)
from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.kube.client import Kube, ObjectRef
from auditpipe_operator.kube.errors import KubeError


def _policy(body: Mapping[str, Any]) -> str:
    deletion = (body.get("spec") or {}).get("deletion") or {}
    return str(deletion.get("persistentVolumeClaims", "Retain"))


async def _clean_claims(kube: Kube, namespace: str, name: str, policy: str) -> list[str]:
    """Apply the policy to every claim of the pipeline; the failures, as text."""
    selector = f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_PIPELINE}={name}"
    failures = []
    for claim in await kube.list("v1", "PersistentVolumeClaim", namespace, selector):
        ref = ObjectRef.of(claim)
        try:
            if policy == "Delete":
                await kube.delete(ref)
            else:
                mark = {"metadata": {"annotations": {ANNOTATION_RETAINED: f"{namespace}/{name}"}}}
                await kube.patch(ref, mark)
        except KubeError as exc:
            failures.append(f"{ref.name}: {exc}")
    return failures


async def finalize(
    kube: Kube,
    body: Mapping[str, Any],
    retry: int,
    config: OperatorConfig,
    logger: kopf.Logger,
) -> None:
    """Clean up; TemporaryError to try again, or give up after the last attempt."""
    meta = body["metadata"]
    policy = _policy(body)
    try:
        failures = await _clean_claims(kube, meta.get("namespace", ""), meta["name"], policy)
    except KubeError as exc:
        failures = [f"listing claims: {exc}"]
    if not failures:
        logger.info("deleted; volume claims: %s", policy)
        return
    if retry + 1 >= config.delete_retries:
        logger.warning("cleanup gave up after %d attempts, left as is: %s", retry + 1, failures)
        return
    raise kopf.TemporaryError(f"cleanup incomplete: {failures}", delay=config.retry_seconds)
