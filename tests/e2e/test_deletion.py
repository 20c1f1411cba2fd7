"""Deleting a pipeline: children go, volumes follow the policy, the finalizer never sticks.

Owned children are removed by the real garbage collector of
kube-controller-manager; the claims' volumes are the suite's hostPath pool.
"""

from __future__ import annotations

import pytest

from auditpipe_operator.api.constants import ANNOTATION_RETAINED, FINALIZER
from tests.e2e.cluster import Cluster, wait_until
from tests.e2e.operators import Operator
from tests.e2e.pipelines import KIND, Namespaces, apply_example, wait_settled

pytestmark = pytest.mark.e2e

PIPELINE_LABEL = "auditpipe.dev/pipeline=audit"
CHILD_KINDS = (
    "deployments,statefulsets,services,configmaps,serviceaccounts,"
    "horizontalpodautoscalers,poddisruptionbudgets,networkpolicies"
)
CLAIMS = [
    "audit-sequencer-data",
    "data-audit-clickhouse-0",
    "data-audit-redis-0",
    "data-audit-redis-1",
]


def children_left(cluster: Cluster, namespace: str) -> list[str]:
    """Names of the pipeline's remaining children (claims aside), and its Secret."""
    left = cluster.items(CHILD_KINDS, namespace, PIPELINE_LABEL)
    names = [f"{o['kind']}/{o['metadata']['name']}" for o in left]
    if cluster.get("secret", "audit-credentials", namespace):
        names.append("Secret/audit-credentials")
    return names


def claims(cluster: Cluster, namespace: str) -> dict[str, dict[str, str]]:
    """The claims left in the namespace, with their annotations."""
    return {
        c["metadata"]["name"]: c["metadata"].get("annotations", {})
        for c in cluster.items("pvc", namespace)
    }


def delete_and_wait(cluster: Cluster, namespace: str) -> None:
    """``kubectl delete`` the pipeline and wait until it is gone."""
    cluster.kubectl("delete", KIND, "audit", "-n", namespace, "--wait=true", "--timeout=180s")
    assert cluster.get(KIND, "audit", namespace) is None


def wait_children_gone(cluster: Cluster, namespace: str) -> None:
    """Wait until the garbage collector removed every owned child."""
    wait_until(lambda: not children_left(cluster, namespace), "the garbage collector")


def test_deletion_keeps_the_volumes_by_default(cluster: Cluster, namespaces: Namespaces) -> None:
    namespace = namespaces.create("delete-retain")
    apply_example(cluster, namespace)
    wait_settled(cluster, namespace)
    delete_and_wait(cluster, namespace)
    wait_children_gone(cluster, namespace)
    kept = claims(cluster, namespace)
    assert sorted(kept) == CLAIMS
    assert all(a.get(ANNOTATION_RETAINED) == f"{namespace}/audit" for a in kept.values())


def test_deletion_policy_delete_removes_the_volumes(
    cluster: Cluster, namespaces: Namespaces
) -> None:
    namespace = namespaces.create("delete-all")
    apply_example(cluster, namespace, {"deletion": {"persistentVolumeClaims": "Delete"}})
    wait_settled(cluster, namespace)
    delete_and_wait(cluster, namespace)
    wait_children_gone(cluster, namespace)
    wait_until(lambda: not claims(cluster, namespace), "the claims to be deleted")


def test_a_deletion_while_the_operator_is_down_completes_when_it_is_back(
    cluster: Cluster, namespaces: Namespaces, operator: Operator
) -> None:
    namespace = namespaces.create("delete-down")
    apply_example(cluster, namespace)
    wait_settled(cluster, namespace)
    operator.stop()
    try:
        cluster.kubectl("delete", KIND, "audit", "-n", namespace, "--wait=false")
        pending = cluster.must_get(KIND, "audit", namespace)
        assert pending["metadata"]["deletionTimestamp"]
        assert FINALIZER in pending["metadata"]["finalizers"]
    finally:
        operator.start()
    delete_and_wait(cluster, namespace)
    wait_children_gone(cluster, namespace)
    assert sorted(claims(cluster, namespace)) == CLAIMS
