"""Deleting a pipeline: children go, volumes and keys follow the policy, the finalizer never sticks.

Owned children are removed by the real garbage collector of
kube-controller-manager; the claims' volumes are the suite's hostPath pool. The
log's signing keys follow the volumes whose checkpoints they signed.
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
SIGNING = ["ConfigMap/audit-log-keys", "Secret/audit-signing"]
CLAIMS = [
    "audit-sequencer-data",
    "data-audit-clickhouse-0",
    "data-audit-redis-0",
    "data-audit-redis-1",
]


def children_left(cluster: Cluster, namespace: str) -> list[str]:
    """Names of the pipeline's remaining children (claims aside), and its Secrets, sorted."""
    left = cluster.items(CHILD_KINDS, namespace, PIPELINE_LABEL)
    names = [f"{o['kind']}/{o['metadata']['name']}" for o in left]
    for secret in ("audit-credentials", "audit-signing"):
        if cluster.get("secret", secret, namespace):
            names.append(f"Secret/{secret}")
    return sorted(names)


def claims(cluster: Cluster, namespace: str) -> dict[str, dict[str, str]]:
    """The claims left in the namespace, with their annotations."""
    return {
        c["metadata"]["name"]: c["metadata"].get("annotations", {})
        for c in cluster.items("pvc", namespace)
    }


def signing_uids(cluster: Cluster, namespace: str) -> list[str]:
    """The uids of the signing Secret and the public-keys ConfigMap."""
    pairs = (("secret", "audit-signing"), ("configmap", "audit-log-keys"))
    return [cluster.must_get(kind, name, namespace)["metadata"]["uid"] for kind, name in pairs]


def delete_and_wait(cluster: Cluster, namespace: str) -> None:
    """``kubectl delete`` the pipeline and wait until it is gone."""
    cluster.kubectl("delete", KIND, "audit", "-n", namespace, "--wait=true", "--timeout=180s")
    assert cluster.get(KIND, "audit", namespace) is None


def wait_children_gone(cluster: Cluster, namespace: str, kept: list[str]) -> None:
    """Wait until the garbage collector removed every owned child: only ``kept`` is left."""
    wait_until(lambda: children_left(cluster, namespace) == kept, "the garbage collector")


def test_deletion_keeps_the_volumes_by_default(cluster: Cluster, namespaces: Namespaces) -> None:
    namespace = namespaces.create("delete-retain")
    apply_example(cluster, namespace)
    wait_settled(cluster, namespace)
    delete_and_wait(cluster, namespace)
    wait_children_gone(cluster, namespace, SIGNING)
    kept = claims(cluster, namespace)
    assert sorted(kept) == CLAIMS
    assert all(a.get(ANNOTATION_RETAINED) == f"{namespace}/audit" for a in kept.values())


def test_a_pipeline_created_again_signs_with_the_kept_keys(
    cluster: Cluster, namespaces: Namespaces
) -> None:
    namespace = namespaces.create("delete-again")
    apply_example(cluster, namespace)
    wait_settled(cluster, namespace)
    before = signing_uids(cluster, namespace)
    delete_and_wait(cluster, namespace)
    wait_children_gone(cluster, namespace, SIGNING)
    apply_example(cluster, namespace)
    wait_settled(cluster, namespace)
    assert signing_uids(cluster, namespace) == before  # the kept checkpoints still verify
    assert (
        cluster.must_get("configmap", "audit-log-keys", namespace)["metadata"]["annotations"][
            "auditpipe.dev/signing-keys"
        ]
        == "issued"
    )


def test_deletion_policy_delete_removes_the_volumes(
    cluster: Cluster, namespaces: Namespaces
) -> None:
    namespace = namespaces.create("delete-all")
    apply_example(cluster, namespace, {"deletion": {"persistentVolumeClaims": "Delete"}})
    wait_settled(cluster, namespace)
    delete_and_wait(cluster, namespace)
    wait_children_gone(cluster, namespace, [])
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
    wait_children_gone(cluster, namespace, SIGNING)
    assert sorted(claims(cluster, namespace)) == CLAIMS
