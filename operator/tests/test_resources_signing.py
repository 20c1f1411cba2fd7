"""The log's keys in the manifests: who mounts what, the env the services parse, new keys."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from auditpipe_common.tlog import (
    Checkpoint,
    Signer,
    load_private_key,
    log_origin,
    open_checkpoint,
    parse_private_key,
    public_key_text,
    sign_checkpoint,
)
from auditpipe_operator.resources import desired_state
from auditpipe_operator.resources.signing import SIGNING_DIR, generate_keys
from auditpipe_operator.testing import containers, env_of, find, make_pipeline

OWN_KEYS = {
    "tamperEvidence": {
        "signingKeySecret": "my-keys",
        "logKeys": ["log-2025.pem", "log-2026.pem"],
        "ingestKey": "receipts.pem",
        "publicKeysConfigMap": "my-public-keys",
    }
}
SIGNING_MOUNT = {"name": "signing", "mountPath": SIGNING_DIR, "readOnly": True}


def _deployment(component: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return find(desired_state(make_pipeline(spec)), "Deployment", f"audit-{component}")


def _main(deployment: dict[str, Any]) -> dict[str, Any]:
    main: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return main


def _signing_volume(deployment: dict[str, Any]) -> dict[str, Any] | None:
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    return next((v for v in volumes if v["name"] == "signing"), None)


def test_the_worker_mounts_only_the_log_key_read_only() -> None:
    worker = _deployment("worker")
    assert _signing_volume(worker) == {
        "name": "signing",
        "secret": {
            "secretName": "audit-signing",
            "items": [{"key": "log.pem", "path": "log.pem"}],
            "defaultMode": 0o400,
        },
    }
    assert SIGNING_MOUNT in _main(worker)["volumeMounts"]
    variables = env_of(_main(worker))
    assert json.loads(variables["AUDITPIPE_LOG_KEY_FILES"]) == [
        "/var/run/auditpipe/signing/log.pem"
    ]
    assert variables["AUDITPIPE_LOG_DEPLOYMENT"] == "ops.audit"
    assert variables["AUDITPIPE_CHECKPOINT_EVENTS"] == "10000"
    assert variables["AUDITPIPE_CHECKPOINT_INTERVAL_S"] == "10"


def test_ingest_mounts_only_the_receipt_key_and_its_init_container_nothing() -> None:
    ingest = _deployment("ingest")
    volume = _signing_volume(ingest)
    assert volume is not None
    assert volume["secret"]["items"] == [{"key": "ingest.pem", "path": "ingest.pem"}]
    assert volume["secret"]["defaultMode"] == 0o400
    variables = env_of(_main(ingest))
    assert variables["AUDITPIPE_RECEIPT_KEY_FILE"] == "/var/run/auditpipe/signing/ingest.pem"
    assert variables["AUDITPIPE_LOG_DEPLOYMENT"] == "ops.audit"
    assert SIGNING_MOUNT in _main(ingest)["volumeMounts"]
    init = ingest["spec"]["template"]["spec"]["initContainers"][0]
    assert "volumeMounts" not in init


def test_query_reads_the_public_keys_from_the_configmap_and_mounts_no_key() -> None:
    query = _deployment("query")
    assert _signing_volume(query) is None
    assert SIGNING_MOUNT not in _main(query)["volumeMounts"]
    variables = env_of(_main(query))
    assert variables["AUDITPIPE_LOG_PUBLIC_KEYS"] == {
        "configMapKeyRef": {"name": "audit-log-keys", "key": "publicKeys"}
    }
    assert variables["AUDITPIPE_LOG_DEPLOYMENT"] == "ops.audit"
    assert "AUDITPIPE_LOG_KEY_FILES" not in variables
    assert "AUDITPIPE_RECEIPT_KEY_FILE" not in variables


def test_nothing_else_sees_the_signing_secret() -> None:
    for obj in desired_state(make_pipeline()):
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            assert "audit-signing" not in json.dumps(obj), obj["kind"]
            continue
        component = obj["metadata"]["name"].removeprefix("audit-")
        uses = "audit-signing" in json.dumps(obj)
        assert uses == (component in ("worker", "ingest")), component
        for container in containers(obj):
            if container["name"] not in ("worker", "ingest"):
                assert not any("AUDITPIPE_LOG_KEY" in e["name"] for e in container["env"])


def test_own_keys_list_every_log_key_and_name_the_configmap() -> None:
    worker = _deployment("worker", OWN_KEYS)
    volume = _signing_volume(worker)
    assert volume is not None
    assert volume["secret"]["secretName"] == "my-keys"
    assert [item["key"] for item in volume["secret"]["items"]] == ["log-2025.pem", "log-2026.pem"]
    assert json.loads(env_of(_main(worker))["AUDITPIPE_LOG_KEY_FILES"]) == [
        f"{SIGNING_DIR}/log-2025.pem",
        f"{SIGNING_DIR}/log-2026.pem",
    ]
    ingest = env_of(_main(_deployment("ingest", OWN_KEYS)))
    assert ingest["AUDITPIPE_RECEIPT_KEY_FILE"] == f"{SIGNING_DIR}/receipts.pem"
    query = env_of(_main(_deployment("query", OWN_KEYS)))
    assert query["AUDITPIPE_LOG_PUBLIC_KEYS"]["configMapKeyRef"]["name"] == "my-public-keys"


def test_the_deployment_name_and_checkpoint_cadence_come_from_the_spec() -> None:
    spec = {
        "tamperEvidence": {
            "deployment": "prod-eu",
            "checkpointEvents": 500,
            "checkpointIntervalSeconds": 60,
        }
    }
    assert make_pipeline(spec).log_deployment == "prod-eu"
    worker = env_of(_main(_deployment("worker", spec)))
    assert (worker["AUDITPIPE_CHECKPOINT_EVENTS"], worker["AUDITPIPE_CHECKPOINT_INTERVAL_S"]) == (
        "500",
        "60",
    )
    for component in ("worker", "ingest", "query"):
        assert env_of(_main(_deployment(component, spec)))["AUDITPIPE_LOG_DEPLOYMENT"] == "prod-eu"
    assert "AUDITPIPE_LOG_DEPLOYMENT" not in env_of(_main(_deployment("sequencer", spec)))


def test_a_deployment_name_outside_the_origin_alphabet_is_refused() -> None:
    with pytest.raises(ValueError, match="deployment"):
        make_pipeline({"tamperEvidence": {"deployment": "a/b"}})


def test_new_trusted_keys_roll_worker_ingest_and_query_only() -> None:
    pipeline = make_pipeline()
    before = {
        o["metadata"]["name"]: o for o in desired_state(pipeline) if o["kind"] == "Deployment"
    }
    after = desired_state(dataclasses.replace(pipeline, log_keys_digest="0123abcd"))
    for obj in after:
        if obj["kind"] != "Deployment":
            continue
        name = obj["metadata"]["name"]
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        old = before[name]["spec"]["template"]["metadata"]["annotations"]
        assert "auditpipe.dev/log-keys" not in old
        rolls = name in ("audit-worker", "audit-ingest", "audit-query")
        assert (annotations.get("auditpipe.dev/log-keys") == "0123abcd") == rolls, name


def test_generated_keys_are_ed25519_and_the_configmap_holds_their_public_halves() -> None:
    keys = generate_keys(make_pipeline())
    secret, public = keys.secret, keys.public_keys
    assert (secret["kind"], secret["metadata"]["name"]) == ("Secret", "audit-signing")
    assert set(secret["stringData"]) == {"log.pem", "ingest.pem"}
    log_key = parse_private_key(secret["stringData"]["log.pem"].encode())
    ingest_key = parse_private_key(secret["stringData"]["ingest.pem"].encode())
    assert secret["stringData"]["log.pem"].startswith("-----BEGIN PRIVATE KEY-----")
    assert (public["kind"], public["metadata"]["name"]) == ("ConfigMap", "audit-log-keys")
    assert json.loads(public["data"]["publicKeys"]) == [public_key_text(log_key)]
    assert public["data"]["receiptPublicKey"] == public_key_text(ingest_key)
    assert public["metadata"]["annotations"] == {"auditpipe.dev/signing-keys": "pending"}
    assert "-----BEGIN" not in json.dumps(public)
    again = generate_keys(make_pipeline())
    assert again.secret["stringData"]["log.pem"] != secret["stringData"]["log.pem"]


def test_generated_keys_follow_the_volume_deletion_policy() -> None:
    kept = generate_keys(make_pipeline())
    assert "ownerReferences" not in kept.secret["metadata"]
    assert "ownerReferences" not in kept.public_keys["metadata"]
    owned = generate_keys(make_pipeline({"deletion": {"persistentVolumeClaims": "Delete"}}))
    for obj in (owned.secret, owned.public_keys):
        assert obj["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_keys_still_trusted_come_first() -> None:
    keys = generate_keys(make_pipeline(), ["old-key-a", "old-key-b"])
    trusted = json.loads(keys.public_keys["data"]["publicKeys"])
    assert trusted[:2] == ["old-key-a", "old-key-b"]
    assert len(trusted) == 3


def _write_secret(stringdata: dict[str, str], directory: Path) -> None:
    for key, value in stringdata.items():
        (directory / key).write_text(value)


def test_checkpoints_signed_by_the_worker_verify_with_the_query_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditpipe_query.settings import QuerySettings
    from auditpipe_worker.settings import WorkerSettings

    pipeline = make_pipeline()
    keys = generate_keys(pipeline)
    _write_secret(keys.secret["stringData"], tmp_path)  # the Secret, mounted
    worker = env_of(_main(_deployment("worker")))
    for name in ("AUDITPIPE_LOG_KEY_FILES", "AUDITPIPE_LOG_DEPLOYMENT"):
        monkeypatch.setenv(name, worker[name].replace(SIGNING_DIR, str(tmp_path)))
    settings = WorkerSettings()
    signers = [
        Signer(log_origin(settings.log_deployment, "acme"), load_private_key(path))
        for path in settings.log_key_files
    ]
    note = sign_checkpoint(Checkpoint(log_origin("ops.audit", "acme"), 1, b"\0" * 32), signers)
    query = env_of(_main(_deployment("query")))
    monkeypatch.setenv("AUDITPIPE_LOG_DEPLOYMENT", query["AUDITPIPE_LOG_DEPLOYMENT"])
    ref = query["AUDITPIPE_LOG_PUBLIC_KEYS"]["configMapKeyRef"]
    assert ref["name"] == keys.public_keys["metadata"]["name"]
    monkeypatch.setenv("AUDITPIPE_LOG_PUBLIC_KEYS", keys.public_keys["data"][ref["key"]])
    trusted = QuerySettings()
    opened = open_checkpoint(note, trusted.log_verifiers("acme"), origin=trusted.log_origin("acme"))
    assert opened.checkpoint.size == 1


def test_ingest_parses_its_receipt_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditpipe_ingest.settings import IngestSettings

    keys = generate_keys(make_pipeline())
    _write_secret(keys.secret["stringData"], tmp_path)
    ingest = env_of(_main(_deployment("ingest")))
    path = ingest["AUDITPIPE_RECEIPT_KEY_FILE"].replace(SIGNING_DIR, str(tmp_path))
    monkeypatch.setenv("AUDITPIPE_RECEIPT_KEY_FILE", path)
    monkeypatch.setenv("AUDITPIPE_LOG_DEPLOYMENT", ingest["AUDITPIPE_LOG_DEPLOYMENT"])
    settings = IngestSettings()
    assert settings.receipt_key_file is not None
    key = load_private_key(settings.receipt_key_file)
    assert public_key_text(key) == keys.public_keys["data"]["receiptPublicKey"]
