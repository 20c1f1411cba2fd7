"""What every child manifest shares: owner, labels, namespace, security, order."""

from __future__ import annotations

import json

import pytest

from auditpipe_operator.resources import credentials_secret, desired_state
from auditpipe_operator.testing import containers, find, make_pipeline

FULL_SPEC = {
    "ingest": {
        "autoscaling": {"enabled": True},
        "ingress": {"enabled": True, "host": "audit.example.com", "tls": {"secretName": "t"}},
    },
    "worker": {"autoscaling": {"enabled": True}},
    "query": {"ingress": {"enabled": True, "host": "q.example.com", "tls": {"secretName": "q"}}},
    "imagePullSecrets": [{"name": "regcred"}],
}


def test_every_child_is_owned_labelled_and_namespaced() -> None:
    pipeline = make_pipeline(FULL_SPEC)
    for obj in desired_state(pipeline):
        meta = obj["metadata"]
        assert meta["namespace"] == "ops", obj["kind"]
        assert meta["labels"]["app.kubernetes.io/instance"] == "audit"
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "auditpipe-operator"
        assert meta["labels"]["auditpipe.dev/pipeline"] == "audit"
        if obj["kind"] == "PersistentVolumeClaim":
            continue  # owned only under the Delete policy, see test_storage_follows_policy
        assert meta["ownerReferences"] == [pipeline.owner_reference()], obj["kind"]


def test_names_are_unique_and_network_policies_come_first() -> None:
    objects = desired_state(make_pipeline(FULL_SPEC))
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys))
    assert objects[0]["kind"] == "NetworkPolicy"
    kinds = [o["kind"] for o in objects]
    assert kinds.index("Deployment") > kinds.index("Service") > kinds.index("NetworkPolicy")


def test_default_pipeline_children() -> None:
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in desired_state(make_pipeline()))
    assert ("Deployment", "audit-ingest") in kinds
    assert ("Deployment", "audit-sequencer") in kinds
    assert ("Deployment", "audit-worker") in kinds
    assert ("Deployment", "audit-query") in kinds
    assert ("StatefulSet", "audit-redis") in kinds
    assert ("StatefulSet", "audit-clickhouse") in kinds
    assert ("ServiceAccount", "audit") in kinds
    assert ("ConfigMap", "audit-settings") in kinds
    assert not [k for k in kinds if k[0] in ("Ingress", "HorizontalPodAutoscaler")]


def test_every_pod_runs_non_root_without_privileges() -> None:
    pipeline = make_pipeline(FULL_SPEC)
    workloads = [o for o in desired_state(pipeline) if o["kind"] in ("Deployment", "StatefulSet")]
    assert len(workloads) == 6
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == "audit"
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]
        for container in containers(workload):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}


def test_security_settings_come_from_the_spec() -> None:
    pipeline = make_pipeline({"security": {"runAsUser": 2000, "readOnlyRootFilesystem": False}})
    ingest = find(desired_state(pipeline), "Deployment", "audit-ingest")
    assert ingest["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 2000
    assert containers(ingest)[-1]["securityContext"]["readOnlyRootFilesystem"] is False


def test_credentials_secret_is_generated_and_never_in_other_children() -> None:
    pipeline = make_pipeline({"bootstrapTenant": "acme"})
    secret = credentials_secret(pipeline, token=lambda n: f"tok{n}")
    data = secret["stringData"]
    assert data == {
        "api-key": "ap_tok32",
        "tenant": "acme",
        "redis-password": "tok24",
        "clickhouse-password": "tok24",
    }
    assert secret["metadata"]["ownerReferences"] == [pipeline.owner_reference()]
    text = json.dumps(desired_state(pipeline))
    assert "tok24" not in text
    assert "ap_tok32" not in text


def test_generated_credentials_are_random() -> None:
    pipeline = make_pipeline()
    first = credentials_secret(pipeline)["stringData"]
    second = credentials_secret(pipeline)["stringData"]
    assert first["api-key"].startswith("ap_")
    assert len(first["api-key"]) > 40
    assert first["api-key"] != second["api-key"]
    assert first["redis-password"] != second["redis-password"]


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_password_env_comes_from_secret_refs_only(kind: str) -> None:
    for workload in (o for o in desired_state(make_pipeline()) if o["kind"] == kind):
        for container in containers(workload):
            for item in container.get("env", []):
                if "PASSWORD" in item["name"] or item["name"] in ("REDISCLI_AUTH",):
                    assert "secretKeyRef" in item["valueFrom"], item["name"]
