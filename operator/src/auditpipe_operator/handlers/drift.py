"""Put back a child that was deleted or edited by hand, at once (the resync is the safety net)."""

from __future__ import annotations

from typing import Any

import kopf

from auditpipe_operator.api.constants import API_VERSION, KIND, LABEL_PIPELINE
from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.kube.client import Kube, Manifest, ObjectRef
from auditpipe_operator.resources import desired_state, object_key


def contains(actual: Any, wanted: Any) -> bool:
    """Whether ``actual`` has every field ``wanted`` sets, with the same value.

    Fields the API server or controllers add (defaults, status) are ignored;
    scalars compare as text, since the server may turn ``1`` into ``"1"``.
    """
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(contains(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return str(actual) == str(wanted)


async def _parent(kube: Kube, child: Manifest) -> Pipeline | None:
    """The live, not-being-deleted pipeline that owns ``child``, if any."""
    meta = child["metadata"]
    name = meta.get("labels", {}).get(LABEL_PIPELINE)
    if not name:
        return None
    body = await kube.get(ObjectRef(API_VERSION, KIND, meta.get("namespace", ""), name))
    if body is None or body["metadata"].get("deletionTimestamp"):
        return None
    try:
        return Pipeline.from_body(body)
    except ValueError:
        return None


async def restore_child(
    kube: Kube,
    event_type: str | None,
    child: Manifest,
    config: OperatorConfig,
    logger: kopf.Logger,
) -> bool:
    """Re-apply ``child``'s desired form if it was deleted or drifted; True if it did."""
    if event_type != "DELETED" and child["metadata"].get("deletionTimestamp"):
        return False  # on its way out; the DELETED event decides
    pipeline = await _parent(kube, child)
    if pipeline is None:
        return False
    wanted = {object_key(obj): obj for obj in desired_state(pipeline)}.get(object_key(child))
    if wanted is None:
        return False
    if event_type != "DELETED" and contains(child, wanted):
        return False
    await kube.apply(wanted, config.field_manager)
    what = "deleted" if event_type == "DELETED" else "changed"
    logger.info("restored %s %s (%s by hand)", child["kind"], child["metadata"]["name"], what)
    return True
