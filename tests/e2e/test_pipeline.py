"""``kubectl apply -f examples/auditpipeline.yaml`` and everything the operator does with it.

The children are real API objects, reconciled by the real controllers
(Deployments, StatefulSets, garbage collector, volume binder); only the pods are
kwok fakes on the local control plane: reported Running and Ready, nothing runs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.handlers.drift import contains
from auditpipe_operator.resources import desired_state
from tests.e2e.cluster import Cluster, Manifest, wait_until
from tests.e2e.operators import Operator
from tests.e2e.pipelines import KIND, Namespaces, apply_example, conditions, wait_settled

pytestmark = pytest.mark.e2e


def resource(obj: Manifest) -> str:
    """``kind.version.group`` as kubectl takes it."""
    group, _, version = obj["apiVersion"].rpartition("/")
    return f"{obj['kind']}.{version}.{group}" if group else obj["kind"]


@pytest.fixture(scope="module")
def namespace(cluster: Cluster, operator: Operator) -> Iterator[str]:
    """A namespace holding the example pipeline, Ready."""
    spaces = Namespaces(cluster)
    name = spaces.create("pipeline")
    apply_example(cluster, name)
    wait_settled(cluster, name)
    yield name
    spaces.delete_all()


def live_pipeline(cluster: Cluster, namespace: str) -> Manifest:
    return cluster.must_get(KIND, "audit", namespace)


def child(cluster: Cluster, namespace: str, kind: str, name: str) -> Manifest:
    return cluster.must_get(kind, name, namespace)


def test_every_child_exists_with_the_desired_spec_and_owner(
    cluster: Cluster, namespace: str
) -> None:
    body = live_pipeline(cluster, namespace)
    uid = body["metadata"]["uid"]
    for wanted in desired_state(Pipeline.from_body(body)):
        name = wanted["metadata"]["name"]
        live = child(cluster, namespace, resource(wanted), name)
        assert contains(live, wanted), f"{wanted['kind']}/{name} differs from the desired state"
        owners = live["metadata"].get("ownerReferences", [])
        if wanted["metadata"].get("ownerReferences"):
            assert [(o["uid"], o["controller"]) for o in owners] == [(uid, True)]
        else:  # the sequencer's claim, kept on deletion by default
            assert owners == []
    secret = child(cluster, namespace, "secret", "audit-credentials")
    assert secret["metadata"]["ownerReferences"][0]["uid"] == uid
    assert base64.b64decode(secret["data"]["tenant"]) == b"acme"
    assert base64.b64decode(secret["data"]["api-key"]).startswith(b"ap_")


def test_the_example_becomes_the_expected_workloads(cluster: Cluster, namespace: str) -> None:
    hpa = child(cluster, namespace, "hpa", "audit-ingest")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    ingest = child(cluster, namespace, "deployment", "audit-ingest")
    assert ingest["status"]["readyReplicas"] == 2  # the HPA's minimum
    variables = ingest["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "AUDITPIPE_MIN_REPLICA_ACKS", "value": "1"} in variables
    sequencer = child(cluster, namespace, "deployment", "audit-sequencer")["spec"]
    assert sequencer["strategy"] == {"type": "Recreate"}
    redis = child(cluster, namespace, "statefulset", "audit-redis")
    assert redis["status"]["readyReplicas"] == 2
    claims = cluster.items("pvc", namespace)
    assert sorted(c["metadata"]["name"] for c in claims) == [
        "audit-sequencer-data",
        "data-audit-clickhouse-0",
        "data-audit-redis-0",
        "data-audit-redis-1",
    ]
    assert all(c["status"]["phase"] == "Bound" for c in claims)
    pods = cluster.items("pods", namespace, "app.kubernetes.io/component=worker")
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]


def test_status_reports_every_condition_for_the_current_generation(
    cluster: Cluster, namespace: str
) -> None:
    body = wait_settled(cluster, namespace)
    status = body["status"]
    found = conditions(body)
    assert {k: v["status"] for k, v in found.items()} == {
        "Ready": "True",
        "Progressing": "False",
        "Degraded": "False",
        "RetentionApplied": "True",
    }
    assert status["components"]["worker"] == {"desired": 2, "ready": 2}
    assert status["components"]["redis"] == {"desired": 2, "ready": 2}
    assert status["endpoints"]["ingest"] == f"http://audit-ingest.{namespace}.svc:8700"
    assert status["credentialsSecret"] == "audit-credentials"
    assert status["redisPrimary"] == "audit-redis-0"
    table = cluster.kubectl("get", "ap", "audit", "-n", namespace).split("\n")
    assert table[0].split() == ["NAME", "READY", "INGEST", "WORKERS", "AGE"]
    assert table[1].split()[:4] == ["audit", "True", "2", "2"]


def test_scaling_propagates(cluster: Cluster, namespace: str) -> None:
    spec = {"worker": {"replicas": 3}, "ingest": {"autoscaling": {"maxReplicas": 8}}}
    cluster.patch(KIND, "audit", namespace, {"spec": spec})
    body = wait_settled(cluster, namespace)
    assert body["status"]["components"]["worker"] == {"desired": 3, "ready": 3}
    worker = child(cluster, namespace, "deployment", "audit-worker")
    assert worker["spec"]["replicas"] == 3
    assert child(cluster, namespace, "hpa", "audit-ingest")["spec"]["maxReplicas"] == 8


def test_a_retention_change_reaches_the_workers(cluster: Cluster, namespace: str) -> None:
    retention = {"defaultDays": 90, "perTenant": [{"tenant": "acme", "days": 30}]}
    cluster.patch(KIND, "audit", namespace, {"spec": {"retention": retention}})
    body = wait_settled(cluster, namespace)
    applied = conditions(body)["RetentionApplied"]
    assert applied["message"].startswith("default 90 days, 1 override(s)")
    worker = child(cluster, namespace, "deployment", "audit-worker")
    env = {
        e["name"]: e.get("value")
        for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["AUDITPIPE_RETENTION_DAYS"] == "90"
    assert json.loads(env["AUDITPIPE_TENANT_RETENTION_DAYS"]) == {"acme": 30}


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("service", "audit-ingest"),
        ("deployment", "audit-worker"),
        ("statefulset", "audit-redis"),
        ("configmap", "audit-redis-config"),
        ("networkpolicy", "audit-allow-redis"),
        ("hpa", "audit-ingest"),
    ],
)
def test_a_child_deleted_by_hand_comes_back(
    cluster: Cluster, namespace: str, kind: str, name: str
) -> None:
    before = child(cluster, namespace, kind, name)["metadata"]["uid"]
    cluster.kubectl("delete", kind, name, "-n", namespace, "--wait=true")

    def recreated() -> Manifest | None:
        obj = cluster.get(kind, name, namespace)
        return obj if obj and obj["metadata"]["uid"] != before else None

    obj = wait_until(recreated, f"{kind}/{name} to come back")
    owner = obj["metadata"]["ownerReferences"][0]
    assert owner["uid"] == live_pipeline(cluster, namespace)["metadata"]["uid"]
    wait_settled(cluster, namespace)


@pytest.mark.parametrize(
    ("kind", "name", "edit", "field"),
    [
        ("deployment", "audit-worker", {"spec": {"replicas": 7}}, ("spec", "replicas")),
        (
            "configmap",
            "audit-redis-config",
            {"data": {"primary": "1"}},
            ("data", "primary"),
        ),
        (
            "service",
            "audit-redis",
            {"spec": {"selector": {"statefulset.kubernetes.io/pod-name": "audit-redis-1"}}},
            ("spec", "selector"),
        ),
    ],
)
def test_a_child_edited_by_hand_is_restored(
    cluster: Cluster, namespace: str, kind: str, name: str, edit: Manifest, field: Any
) -> None:
    def value() -> Any:
        obj: Any = child(cluster, namespace, kind, name)
        for key in field:
            obj = obj[key]
        return obj

    original = value()
    cluster.patch(kind, name, namespace, edit)
    wait_until(lambda: value() == original, f"{kind}/{name} {'.'.join(field)} restored")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"ingest": {"autoscaling": {"minReplicas": 9, "maxReplicas": 2}}},
            "minReplicas must be <= maxReplicas",
        ),
        ({"redis": {"replicas": 1}}, "PromoteReplica needs redis.replicas >= 2"),
        ({"streamShards": 8}, "streamShards cannot change"),
        ({"clickhouse": {"mode": "external"}}, "mode cannot change"),
    ],
)
def test_the_api_server_refuses_invalid_changes(
    cluster: Cluster, namespace: str, spec: Manifest, message: str
) -> None:
    patch = json.dumps({"spec": spec})
    done = cluster.run(
        "kubectl", "patch", KIND, "audit", "-n", namespace, "--type=merge", "-p", patch,
        check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr
