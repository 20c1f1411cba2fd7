"""The whole desired state of one pipeline, in the order it is applied."""

from __future__ import annotations

from collections.abc import Iterable

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.clickhouse import clickhouse_objects
from auditpipe_operator.resources.config import settings_configmap
from auditpipe_operator.resources.identity import service_account
from auditpipe_operator.resources.ingest import ingest_objects
from auditpipe_operator.resources.meta import Manifest
from auditpipe_operator.resources.network import network_policies
from auditpipe_operator.resources.redis import redis_objects
from auditpipe_operator.resources.sequencer import sequencer_objects
from auditpipe_operator.resources.worker import query_objects, worker_objects

# (apiVersion, kind) of every kind the operator may create, in apply order. Children of
# these kinds that carry the pipeline's labels but are no longer desired are deleted.
MANAGED_KINDS: tuple[tuple[str, str], ...] = (
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Service"),
    ("apps/v1", "StatefulSet"),
    ("clickhouse.altinity.com/v1", "ClickHouseInstallation"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"),
)
_ORDER = {kind: index for index, (_, kind) in enumerate(MANAGED_KINDS)}


def desired_state(pipeline: Pipeline) -> list[Manifest]:
    """Every child manifest except the generated Secrets and public keys, in apply order.

    The credentials Secret and the signing keys (:mod:`.signing`) are created once by
    the handlers, never applied again.

    NetworkPolicies come first, so that no pod ever runs without them.
    """
    objects: list[Manifest] = [
        service_account(pipeline),
        settings_configmap(pipeline),
        *redis_objects(pipeline),
        *clickhouse_objects(pipeline),
        *sequencer_objects(pipeline),
        *ingest_objects(pipeline),
        *worker_objects(pipeline),
        *query_objects(pipeline),
        *network_policies(pipeline),
    ]
    return sorted(objects, key=lambda obj: _ORDER[obj["kind"]])


def object_key(obj: Manifest) -> tuple[str, str]:
    """``(kind, name)`` of a manifest, which identifies a child within its namespace."""
    return obj["kind"], obj["metadata"]["name"]


def keys(objects: Iterable[Manifest]) -> set[tuple[str, str]]:
    """The ``(kind, name)`` of each manifest."""
    return {object_key(obj) for obj in objects}
