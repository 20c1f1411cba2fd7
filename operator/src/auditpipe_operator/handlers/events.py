"""Kubernetes Events on a pipeline, for what ``kubectl describe`` should show.

kopf turns warnings logged by change handlers into Events, but not those logged
by timers (the periodic resync, where a Redis promotion is usually decided), so
the operator posts the Events that matter itself.
"""

from __future__ import annotations

import hashlib

import kopf

from auditpipe_operator.api.constants import API_VERSION, FIELD_MANAGER, KIND
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.kube.client import Kube, Manifest
from auditpipe_operator.kube.errors import KubeError


def warning_event(pipeline: Pipeline, reason: str, key: str, message: str, now: str) -> Manifest:
    """A core/v1 Warning Event about ``pipeline``, named after its reason and ``key``."""
    digest = hashlib.sha256(f"{pipeline.uid}\0{reason}\0{key}".encode()).hexdigest()[:12]
    involved = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": pipeline.name,
        "namespace": pipeline.namespace,
        "uid": pipeline.uid,
    }
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pipeline.name}.{digest}", "namespace": pipeline.namespace},
        "involvedObject": involved,
        "type": "Warning",
        "reason": reason,
        "message": message,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "source": {"component": FIELD_MANAGER},
    }


async def warn(
    kube: Kube,
    pipeline: Pipeline,
    reason: str,
    key: str,
    message: str,
    *,
    now: str,
    logger: kopf.Logger,
) -> None:
    """Log ``message`` as a warning and post it as an Event (a failed post is only logged).

    One Event per pipeline, reason and ``key`` (until the API server expires it, an
    hour by default): a condition found again on every resync is not posted again.
    """
    logger.warning("%s", message)
    try:
        await kube.create(warning_event(pipeline, reason, key, message, now))
    except KubeError as exc:
        logger.warning("could not post the %s event: %s", reason, exc)
