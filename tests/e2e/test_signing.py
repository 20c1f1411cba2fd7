"""The log's signing keys on the cluster: generated once, mounted where they sign, never leaked.

The operator runs with the chart's RBAC, which lets it create Secrets but never
read them: these tests read the Secret as the cluster admin, to check its keys
against the public keys in the ConfigMap the query API trusts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.tlog import parse_private_key, private_key_pem, public_key_text
from tests.e2e.cluster import Cluster, Manifest, wait_until
from tests.e2e.operators import Operator
from tests.e2e.pipelines import (
    KIND,
    NAME,
    Namespaces,
    apply_example,
    conditions,
    example,
    wait_settled,
)

pytestmark = pytest.mark.e2e

SECRET = "audit-signing"
KEYS = "audit-log-keys"
STATE = "auditpipe.dev/signing-keys"
SIGNING_DIR = "/var/run/auditpipe/signing"
MOUNT = {"name": "signing", "mountPath": SIGNING_DIR, "readOnly": True}
DIGEST = "auditpipe.dev/log-keys"
ROLLED = ("worker", "ingest", "query")


@pytest.fixture(scope="module")
def namespace(cluster: Cluster, operator: Operator) -> Iterator[str]:
    """A namespace holding the example pipeline, Ready, with generated keys."""
    spaces = Namespaces(cluster)
    name = spaces.create("signing")
    apply_example(cluster, name)
    wait_settled(cluster, name)
    yield name
    spaces.delete_all()


def secret_files(cluster: Cluster, namespace: str, name: str = SECRET) -> dict[str, bytes]:
    """The Secret's keys and values, read as the admin (the operator cannot)."""
    data = cluster.must_get("secret", name, namespace)["data"]
    return {key: base64.b64decode(value) for key, value in data.items()}


def trusted(cluster: Cluster, namespace: str, name: str = KEYS) -> list[str]:
    """The public keys the query API trusts."""
    keys: list[str] = json.loads(
        cluster.must_get("configmap", name, namespace)["data"]["publicKeys"]
    )
    return keys


def public_of(pem: bytes) -> str:
    """The public half of a private key file, as the ConfigMap lists it."""
    return public_key_text(parse_private_key(pem))


def degraded(cluster: Cluster, namespace: str, reason: str) -> Manifest:
    """The pipeline, once its Degraded condition is True for ``reason``."""

    def check() -> Manifest | None:
        body = cluster.must_get(KIND, NAME, namespace)
        found = conditions(body).get("Degraded", {})
        return body if (found.get("status"), found.get("reason")) == ("True", reason) else None

    return wait_until(check, f"Degraded={reason}")


def pod_spec(cluster: Cluster, namespace: str, component: str) -> Manifest:
    """The pod template of a component's Deployment."""
    deployment = cluster.must_get("deployment", f"audit-{component}", namespace)
    spec: Manifest = deployment["spec"]["template"]["spec"]
    return spec


def keys_digest(cluster: Cluster, namespace: str, component: str) -> str | None:
    """The trusted keys' digest a component's pod template carries."""
    deployment = cluster.must_get("deployment", f"audit-{component}", namespace)
    value = deployment["spec"]["template"]["metadata"].get("annotations", {}).get(DIGEST)
    return str(value) if value is not None else None


def env(container: Manifest) -> dict[str, Any]:
    """``{name: value or valueFrom}``."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def signing_volume(spec: Manifest) -> Manifest | None:
    """The pod's ``signing`` volume, if any."""
    return next((v for v in spec.get("volumes", []) if v["name"] == "signing"), None)


def test_the_keys_are_ed25519_and_the_configmap_holds_their_public_halves(
    cluster: Cluster, namespace: str
) -> None:
    files = secret_files(cluster, namespace)
    assert sorted(files) == ["ingest.pem", "log.pem"]
    assert files["log.pem"].startswith(b"-----BEGIN PRIVATE KEY-----")
    record = cluster.must_get("configmap", KEYS, namespace)
    assert json.loads(record["data"]["publicKeys"]) == [public_of(files["log.pem"])]
    assert record["data"]["receiptPublicKey"] == public_of(files["ingest.pem"])
    assert record["metadata"]["annotations"][STATE] == "issued"
    for obj in (record, cluster.must_get("secret", SECRET, namespace)):
        assert "ownerReferences" not in obj["metadata"]  # kept on deletion (Retain)
        assert obj["metadata"]["labels"]["auditpipe.dev/pipeline"] == NAME
    status = cluster.must_get(KIND, NAME, namespace)["status"]
    assert status["tamperEvidence"] == {
        "deployment": f"{namespace}.audit",
        "signingKeySecret": SECRET,
        "publicKeysConfigMap": KEYS,
    }


def test_worker_and_ingest_mount_their_key_read_only_and_query_trusts_the_configmap(
    cluster: Cluster, namespace: str
) -> None:
    for component, key, variable in (
        ("worker", "log.pem", "AUDITPIPE_LOG_KEY_FILES"),
        ("ingest", "ingest.pem", "AUDITPIPE_RECEIPT_KEY_FILE"),
    ):
        spec = pod_spec(cluster, namespace, component)
        assert signing_volume(spec) == {
            "name": "signing",
            "secret": {
                "secretName": SECRET,
                "items": [{"key": key, "path": key}],
                "defaultMode": 0o400,
            },
        }
        main = spec["containers"][0]
        assert MOUNT in main["volumeMounts"]
        assert f"{SIGNING_DIR}/{key}" in env(main)[variable]
        assert env(main)["AUDITPIPE_LOG_DEPLOYMENT"] == f"{namespace}.audit"
        pods = cluster.items("pods", namespace, f"app.kubernetes.io/component={component}")
        assert pods
        assert all(signing_volume(pod["spec"]) is not None for pod in pods)
    worker = env(pod_spec(cluster, namespace, "worker")["containers"][0])
    assert json.loads(worker["AUDITPIPE_LOG_KEY_FILES"]) == [f"{SIGNING_DIR}/log.pem"]
    assert (worker["AUDITPIPE_CHECKPOINT_EVENTS"], worker["AUDITPIPE_CHECKPOINT_INTERVAL_S"]) == (
        "10000",
        "10",
    )
    query = pod_spec(cluster, namespace, "query")
    assert signing_volume(query) is None
    assert env(query["containers"][0])["AUDITPIPE_LOG_PUBLIC_KEYS"] == {
        "configMapKeyRef": {"name": KEYS, "key": "publicKeys"}
    }
    for kind in ("deployment", "statefulset"):
        for obj in cluster.items(kind, namespace, f"auditpipe.dev/pipeline={NAME}"):
            component = obj["metadata"]["name"].removeprefix("audit-")
            mounts_secret = SECRET in json.dumps(obj["spec"])
            assert mounts_secret == (component in ("worker", "ingest")), component


def test_no_key_material_in_status_events_logs_or_other_objects(
    cluster: Cluster, namespace: str, operator: Operator
) -> None:
    files = secret_files(cluster, namespace)
    material = [line for pem in files.values() for line in pem.decode().splitlines()[1:-1]]
    seeds = [
        base64.b64encode(parse_private_key(pem).private_bytes_raw()).decode()
        for pem in files.values()
    ]
    secrets = [*material, *seeds]
    assert len(secrets) >= 4
    kinds = "auditpipelines,events,configmaps,deployments,statefulsets,pods,services"
    logs = operator.logs()
    assert f"Secret {SECRET}, public keys in ConfigMap {KEYS}" in logs  # the real log
    visible = json.dumps(cluster.items(kinds, namespace)) + logs
    leaked = [text for text in secrets if text in visible]
    assert not leaked


def test_a_deleted_signing_secret_is_not_regenerated_and_can_be_restored(
    cluster: Cluster, namespace: str
) -> None:
    before = cluster.must_get("secret", SECRET, namespace)
    record = cluster.must_get("configmap", KEYS, namespace)
    cluster.kubectl("delete", "secret", SECRET, "-n", namespace)
    body = degraded(cluster, namespace, "SigningKeyMissing")
    message = conditions(body)["Degraded"]["message"]
    assert SECRET in message
    assert f"{STATE}=renew" in message
    events = cluster.items("events", namespace)
    assert any(e["reason"] == "SigningKeyMissing" and e["type"] == "Warning" for e in events)
    assert cluster.get("secret", SECRET, namespace) is None  # not regenerated
    assert cluster.must_get("configmap", KEYS, namespace)["data"] == record["data"]
    # Restored from a backup: the pipeline recovers with the very same keys.
    backup = {k: before[k] for k in ("apiVersion", "kind", "type", "data")}
    backup["metadata"] = {"name": SECRET, "labels": before["metadata"]["labels"]}
    cluster.apply([backup], namespace)
    wait_settled(cluster, namespace, {"Degraded": "False"})
    assert cluster.must_get("secret", SECRET, namespace)["data"] == before["data"]
    assert cluster.must_get("configmap", KEYS, namespace)["data"] == record["data"]


def test_renewing_lost_keys_keeps_trusting_the_old_public_key(
    cluster: Cluster, namespace: str
) -> None:
    old = trusted(cluster, namespace)
    old_files = secret_files(cluster, namespace)
    rolled_before = {c: keys_digest(cluster, namespace, c) for c in ROLLED}
    assert all(rolled_before.values())
    cluster.kubectl("delete", "secret", SECRET, "-n", namespace)
    degraded(cluster, namespace, "SigningKeyMissing")
    cluster.kubectl("annotate", "configmap", KEYS, "-n", namespace, f"{STATE}=renew", "--overwrite")

    def renewed() -> list[str] | None:
        record = cluster.must_get("configmap", KEYS, namespace)
        issued = record["metadata"]["annotations"][STATE] == "issued"
        return (
            trusted(cluster, namespace)
            if issued and cluster.get("secret", SECRET, namespace)
            else None
        )

    keys = wait_until(renewed, "new keys")
    files = secret_files(cluster, namespace)
    assert keys == [*old, public_of(files["log.pem"])]
    assert files["log.pem"] != old_files["log.pem"]
    wait_settled(cluster, namespace, {"Degraded": "False"})
    # The pods that use the keys roll: query then trusts the new key, the others load it.
    digest = cluster.must_get(KIND, NAME, namespace)["metadata"]["annotations"][DIGEST]
    assert digest not in rolled_before.values()
    assert {c: keys_digest(cluster, namespace, c) for c in ROLLED} == dict.fromkeys(ROLLED, digest)


def own_keys(names: list[str]) -> dict[str, Ed25519PrivateKey]:
    """New keys under the given Secret keys."""
    return {name: Ed25519PrivateKey.generate() for name in names}


def test_own_keys_are_mounted_and_checked(cluster: Cluster, namespaces: Namespaces) -> None:
    namespace = namespaces.create("own-keys")
    keys = own_keys(["log-old.pem", "log-new.pem", "receipts.pem"])
    data = {name: base64.b64encode(private_key_pem(key)).decode() for name, key in keys.items()}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-keys"}, "data": data}
    cluster.apply([secret], namespace)
    tamper = {
        "signingKeySecret": "my-keys",
        "logKeys": ["log-old.pem", "log-new.pem"],
        "ingestKey": "receipts.pem",
        "publicKeysConfigMap": "my-public-keys",
        "deployment": "prod-eu",
    }
    apply_example(cluster, namespace, {"tamperEvidence": tamper})
    degraded(cluster, namespace, "PublicKeysConfigMapNotFound")
    public = [public_key_text(keys[name]) for name in ("log-old.pem", "log-new.pem")]
    record = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "my-public-keys"},
        "data": {"publicKeys": json.dumps(public)},
    }
    cluster.apply([record], namespace)
    body = wait_settled(cluster, namespace)
    assert body["status"]["tamperEvidence"] == {
        "deployment": "prod-eu",
        "signingKeySecret": "my-keys",
        "publicKeysConfigMap": "my-public-keys",
    }
    assert cluster.get("secret", SECRET, namespace) is None
    assert cluster.get("configmap", KEYS, namespace) is None
    worker = pod_spec(cluster, namespace, "worker")
    volume = signing_volume(worker)
    assert volume is not None
    assert volume["secret"]["secretName"] == "my-keys"
    assert json.loads(env(worker["containers"][0])["AUDITPIPE_LOG_KEY_FILES"]) == [
        f"{SIGNING_DIR}/log-old.pem",
        f"{SIGNING_DIR}/log-new.pem",
    ]
    query = env(pod_spec(cluster, namespace, "query")["containers"][0])
    assert query["AUDITPIPE_LOG_PUBLIC_KEYS"]["configMapKeyRef"]["name"] == "my-public-keys"
    assert query["AUDITPIPE_LOG_DEPLOYMENT"] == "prod-eu"


def refused(cluster: Cluster, namespace: str, body: Manifest) -> str:
    """The API server's refusal of ``kubectl apply`` (fails the test if it was accepted)."""
    done = cluster.run(
        "kubectl", "apply", "-f", "-", "-n", namespace, input=json.dumps(body), check=False
    )
    assert done.returncode != 0, done.stdout
    return done.stderr


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ({"signingKeySecret": "my-keys"}, "signingKeySecret and publicKeysConfigMap go together"),
        ({"logKeys": ["other.pem"]}, "logKeys and ingestKey name keys of your own"),
        ({"deployment": "a/b"}, "should match"),
    ],
)
def test_the_api_server_refuses_inconsistent_key_settings(
    cluster: Cluster, namespaces: Namespaces, tamper: dict[str, Any], message: str
) -> None:
    namespace = namespaces.create("signing-cel")
    assert message in refused(cluster, namespace, example({"tamperEvidence": tamper}))


def test_the_deployment_name_cannot_change(cluster: Cluster, namespace: str) -> None:
    body = example({"tamperEvidence": {"deployment": "renamed"}})
    assert "deployment cannot change" in refused(cluster, namespace, body)
