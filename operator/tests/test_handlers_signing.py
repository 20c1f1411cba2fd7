"""Signing keys against an in-memory API server: made once, never read, never silently replaced."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditpipe_common.tlog import parse_private_key, public_key_text
from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.handlers.reconcile import reconcile
from auditpipe_operator.handlers.signing import ensure_signing_keys
from auditpipe_operator.kube.client import ObjectRef
from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.kube.memory import MemoryKube, fail_on
from auditpipe_operator.testing import make_pipeline, pipeline_body

SECRET = ObjectRef("v1", "Secret", "ops", "audit-signing")
KEYS = ObjectRef("v1", "ConfigMap", "ops", "audit-log-keys")
PIPELINE = ObjectRef("auditpipe.dev/v1alpha1", "AuditPipeline", "ops", "audit")
STATE = "auditpipe.dev/signing-keys"
OWN = {"tamperEvidence": {"signingKeySecret": "my-keys", "publicKeysConfigMap": "my-public-keys"}}


def _trusted(kube: MemoryKube) -> list[str]:
    keys: list[str] = json.loads(kube.objects[KEYS]["data"]["publicKeys"])
    return keys


def _state(kube: MemoryKube) -> str:
    return str(kube.objects[KEYS]["metadata"]["annotations"][STATE])


def _log_public_key(kube: MemoryKube) -> str:
    pem = kube.objects[SECRET]["stringData"]["log.pem"]
    return public_key_text(parse_private_key(pem.encode()))


async def _ensure(
    kube: MemoryKube, logger: logging.Logger, spec: dict[str, Any] | None = None
) -> tuple[str, str] | None:
    return await ensure_signing_keys(kube, make_pipeline(spec), logger)


async def _reason(
    kube: MemoryKube, logger: logging.Logger, spec: dict[str, Any] | None = None
) -> str | None:
    """The reason of the problem ensure_signing_keys reports (None: no problem)."""
    problem = await _ensure(kube, logger, spec)
    return problem[0] if problem is not None else None


async def _reconcile(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger, spec: Any = None
) -> dict[str, Any]:
    if PIPELINE not in kube.objects:
        kube.add(pipeline_body(spec, uid="uid-1"))
    await reconcile(
        kube, kube.objects[PIPELINE], config, logger, clock=lambda: "2026-01-01T00:00:00Z"
    )
    status: dict[str, Any] = kube.objects[PIPELINE]["status"]
    return status


def _degraded(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Degraded")


async def test_keys_are_generated_once_and_the_configmap_matches_the_secret(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    assert await _ensure(kube, logger) is None
    assert _state(kube) == "issued"
    assert _trusted(kube) == [_log_public_key(kube)]
    ingest_pem = kube.objects[SECRET]["stringData"]["ingest.pem"]
    receipt = public_key_text(parse_private_key(ingest_pem.encode()))
    assert kube.objects[KEYS]["data"]["receiptPublicKey"] == receipt
    secret, record = dict(kube.objects[SECRET]), dict(kube.objects[KEYS])
    kube.calls.clear()
    assert await _ensure(kube, logger) is None
    assert (kube.objects[SECRET], kube.objects[KEYS]) == (secret, record)
    assert ("create", SECRET) not in kube.calls
    assert ("create/dry-run", SECRET) in kube.calls
    assert not [call for call in kube.calls if call[0] == "get" and call[1].kind == "Secret"]


async def test_a_deleted_secret_is_not_regenerated(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    await _ensure(kube, logger)
    record = dict(kube.objects[KEYS])
    del kube.objects[SECRET]
    problem = await _ensure(kube, logger)
    assert problem is not None
    reason, message = problem
    assert reason == "SigningKeyMissing"
    assert "audit-signing" in message
    assert "renew" in message
    assert SECRET not in kube.objects
    assert kube.objects[KEYS] == record


async def test_renew_makes_new_keys_and_keeps_trusting_the_old_ones(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    await _ensure(kube, logger)
    old = _trusted(kube)
    del kube.objects[SECRET]
    kube.objects[KEYS]["metadata"]["annotations"][STATE] = "renew"
    assert await _ensure(kube, logger) is None
    assert _trusted(kube) == [*old, _log_public_key(kube)]
    assert _log_public_key(kube) not in old
    assert _state(kube) == "issued"


async def test_renew_with_the_secret_still_there_is_refused(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    await _ensure(kube, logger)
    secret = dict(kube.objects[SECRET])
    kube.objects[KEYS]["metadata"]["annotations"][STATE] = "renew"
    assert await _reason(kube, logger) == "SigningKeyRenewalBlocked"
    assert kube.objects[SECRET] == secret


async def test_an_attempt_cut_short_before_the_secret_is_redone_with_new_keys(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    kube.faults.append(fail_on("create", "Secret", KubeError(500, "InternalError", "etcd")))
    with pytest.raises(KubeError, match="creating the signing Secret failed"):
        await _ensure(kube, logger)
    assert _state(kube) == "pending"
    candidate = _trusted(kube)
    kube.faults.clear()
    assert await _ensure(kube, logger) is None
    assert _state(kube) == "issued"
    assert _trusted(kube) == [_log_public_key(kube)]  # the candidate was replaced
    assert _trusted(kube) != candidate


async def test_a_lost_mark_is_set_without_new_keys(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    failure = KubeError(503, "ServiceUnavailable", "later")
    kube.faults.append(fail_on("patch", "ConfigMap", failure, name="audit-log-keys"))
    with pytest.raises(KubeError):
        await _ensure(kube, logger)
    secret = dict(kube.objects[SECRET])
    kube.faults.clear()
    assert await _ensure(kube, logger) is None
    assert _state(kube) == "issued"
    assert kube.objects[SECRET] == secret
    assert _trusted(kube) == [_log_public_key(kube)]


async def test_a_secret_made_by_someone_else_meanwhile_withdraws_the_record(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    def someone_else(verb: str, ref: ObjectRef) -> None:
        if verb == "create" and ref == SECRET:
            kube.objects[SECRET] = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}

    kube.faults.append(someone_else)
    assert await _reason(kube, logger) == "LogPublicKeysMissing"
    assert KEYS not in kube.objects


async def test_a_secret_made_by_someone_else_during_a_renewal_keeps_the_old_keys(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    await _ensure(kube, logger)
    old = _trusted(kube)
    receipt = kube.objects[KEYS]["data"]["receiptPublicKey"]
    del kube.objects[SECRET]
    kube.objects[KEYS]["metadata"]["annotations"][STATE] = "renew"

    def someone_else(verb: str, ref: ObjectRef) -> None:
        if verb == "create" and ref == SECRET:
            kube.objects[SECRET] = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}

    kube.faults.append(someone_else)
    assert await _reason(kube, logger) == "SigningKeyConflict"
    assert _trusted(kube) == old
    assert _state(kube) == "conflict"
    assert kube.objects[KEYS]["data"]["receiptPublicKey"] == receipt
    assert await _reason(kube, logger) == "SigningKeyConflict"  # until a person decides


async def test_a_deleted_configmap_with_the_secret_left_degrades(
    kube: MemoryKube, logger: logging.Logger
) -> None:
    await _ensure(kube, logger)
    secret = dict(kube.objects[SECRET])
    del kube.objects[KEYS]
    assert await _reason(kube, logger) == "LogPublicKeysMissing"
    assert kube.objects[SECRET] == secret
    assert KEYS not in kube.objects


@pytest.mark.parametrize("value", ["", "not json", "[]", '["not a key"]', '{"a": 1}'])
async def test_unusable_public_keys_degrade(
    kube: MemoryKube, logger: logging.Logger, value: str
) -> None:
    await _ensure(kube, logger)
    kube.objects[KEYS]["data"]["publicKeys"] = value
    assert await _reason(kube, logger) == "LogPublicKeysInvalid"


async def test_own_keys_are_checked_not_generated(kube: MemoryKube, logger: logging.Logger) -> None:
    assert await _reason(kube, logger, OWN) == "SigningKeySecretNotFound"
    kube.add(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-keys", "namespace": "ops"}}
    )
    assert await _reason(kube, logger, OWN) == "PublicKeysConfigMapNotFound"
    public = public_key_text(Ed25519PrivateKey.generate())
    meta = {"name": "my-public-keys", "namespace": "ops"}
    kube.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"publicKeys": json.dumps([public])},
        }
    )
    assert await _ensure(kube, logger, OWN) is None
    assert SECRET not in kube.objects
    assert KEYS not in kube.objects
    assert not [call for call in kube.calls if call[0] in ("create", "patch")]


async def test_reconcile_degrades_posts_an_event_and_still_applies(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    status = await _reconcile(kube, config, logger)
    assert _degraded(status)["status"] == "False"
    assert status["tamperEvidence"] == {
        "deployment": "ops.audit",
        "signingKeySecret": "audit-signing",
        "publicKeysConfigMap": "audit-log-keys",
    }
    del kube.objects[SECRET]
    del kube.objects[ObjectRef("apps/v1", "Deployment", "ops", "audit-worker")]
    status = await _reconcile(kube, config, logger)
    degraded = _degraded(status)
    assert (degraded["status"], degraded["reason"]) == ("True", "SigningKeyMissing")
    assert SECRET not in kube.objects
    assert kube.named("Deployment", "audit-worker") is not None  # the rest is still applied
    events = [obj for obj in kube.objects.values() if obj["kind"] == "Event"]
    assert [e["reason"] for e in events] == ["SigningKeyMissing"]


def _rolled_by(kube: MemoryKube, component: str) -> str | None:
    deployment = kube.named("Deployment", f"audit-{component}")
    assert deployment is not None
    value = deployment["spec"]["template"]["metadata"]["annotations"].get("auditpipe.dev/log-keys")
    return str(value) if value is not None else None


async def test_new_trusted_keys_roll_the_pods_that_use_them(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    await _reconcile(kube, config, logger)
    digest = kube.objects[PIPELINE]["metadata"]["annotations"]["auditpipe.dev/log-keys"]
    assert {c: _rolled_by(kube, c) for c in ("worker", "ingest", "query", "sequencer")} == {
        "worker": digest,
        "ingest": digest,
        "query": digest,
        "sequencer": None,
    }
    kube.calls.clear()
    await _reconcile(kube, config, logger)
    assert ("patch", PIPELINE) not in kube.calls  # nothing changed, nothing recorded
    del kube.objects[SECRET]
    kube.objects[KEYS]["metadata"]["annotations"][STATE] = "renew"
    await _reconcile(kube, config, logger)
    renewed = kube.objects[PIPELINE]["metadata"]["annotations"]["auditpipe.dev/log-keys"]
    assert renewed != digest
    assert _rolled_by(kube, "query") == _rolled_by(kube, "worker") == renewed


async def test_an_edit_of_ones_own_public_keys_rolls_the_query_api(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    kube.add(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-keys", "namespace": "ops"}}
    )
    keys = [public_key_text(Ed25519PrivateKey.generate()) for _ in range(2)]
    meta = {"name": "my-public-keys", "namespace": "ops"}
    data = {"publicKeys": json.dumps(keys[:1])}
    kube.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})
    await _reconcile(kube, config, logger, OWN)
    first = _rolled_by(kube, "query")
    assert first is not None
    kube.objects[ObjectRef("v1", "ConfigMap", "ops", "my-public-keys")]["data"] = {
        "publicKeys": json.dumps(keys)
    }
    await _reconcile(kube, config, logger)
    assert _rolled_by(kube, "query") not in (None, first)


async def test_the_public_keys_are_never_pruned(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    await _reconcile(kube, config, logger, {"deletion": {"persistentVolumeClaims": "Delete"}})
    assert kube.objects[KEYS]["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    kube.objects[PIPELINE]["spec"] = {
        "deletion": {"persistentVolumeClaims": "Delete"},
        **OWN,
    }
    await _reconcile(kube, config, logger)
    assert KEYS in kube.objects
    assert SECRET in kube.objects


async def test_no_private_key_reaches_status_logs_events_or_other_objects(
    kube: MemoryKube,
    config: OperatorConfig,
    logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await _reconcile(kube, config, logger)
    del kube.objects[SECRET]
    await _reconcile(kube, config, logger)  # degraded: a warning and an Event
    kube.objects[KEYS]["metadata"]["annotations"][STATE] = "renew"
    await _reconcile(kube, config, logger)
    secret = kube.objects[SECRET]["stringData"]
    material = [line for pem in secret.values() for line in pem.splitlines()[1:-1]]
    assert material
    elsewhere = json.dumps([o for ref, o in kube.objects.items() if ref != SECRET])
    for text in (elsewhere, caplog.text):
        assert not any(line in text for line in material)
