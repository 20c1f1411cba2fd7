"""Reconciliation against an in-memory API server: apply, prune, status, errors, secrets."""

from __future__ import annotations

import json
import logging
from typing import Any

import kopf
import pytest

from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.handlers.reconcile import reconcile
from auditpipe_operator.kube.client import ObjectRef
from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.kube.memory import MemoryKube, fail_on
from auditpipe_operator.resources import desired_state
from auditpipe_operator.testing import make_pipeline, pipeline_body

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:05:00Z"


def _add_pipeline(kube: MemoryKube, spec: dict[str, Any] | None = None, generation: int = 1) -> Any:
    body = pipeline_body(spec, generation=generation)
    return kube.add(body)


def _ref() -> ObjectRef:
    return ObjectRef("auditpipe.dev/v1alpha1", "AuditPipeline", "ops", "audit")


async def _run(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger, now: str = NOW
) -> dict[str, Any]:
    body = kube.objects[_ref()]
    await reconcile(kube, body, config, logger, clock=lambda: now)
    status: dict[str, Any] = kube.objects[_ref()].get("status", {})
    return status


def _conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def _make_ready(kube: MemoryKube) -> None:
    """What the controllers would report once every pod is ready."""
    for ref, obj in kube.objects.items():
        if ref.kind in ("Deployment", "StatefulSet"):
            replicas = obj["spec"].get("replicas", 2)
            obj["status"] = {
                "observedGeneration": obj["metadata"]["generation"],
                "replicas": replicas,
                "readyReplicas": replicas,
                "updatedReplicas": replicas,
            }


async def test_creates_every_child_and_the_secret(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    uid = _add_pipeline(kube)["metadata"]["uid"]
    status = await _run(kube, config, logger)
    expected = desired_state(make_pipeline(uid=uid))
    for obj in expected:
        assert ObjectRef.of(obj) in kube.objects, obj["metadata"]["name"]
    secret = kube.named("Secret", "audit-credentials")
    assert secret is not None
    assert secret["stringData"]["api-key"].startswith("ap_")
    assert status["observedGeneration"] == 1
    assert status["credentialsSecret"] == "audit-credentials"
    assert status["endpoints"]["ingest"] == "http://audit-ingest.ops.svc:8700"
    conditions = _conditions(status)
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Degraded"]["status"] == "False"
    assert conditions["Progressing"]["status"] == "True"
    assert all(c["observedGeneration"] == 1 for c in conditions.values())


async def test_secrets_never_reach_status_or_logs(
    kube: MemoryKube,
    config: OperatorConfig,
    logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _add_pipeline(kube)
    status = await _run(kube, config, logger)
    secret = kube.named("Secret", "audit-credentials")
    assert secret is not None
    values = list(secret["stringData"].values())
    values.remove("default")  # the tenant name is not a secret
    text = json.dumps(status) + caplog.text
    for value in values:
        assert value not in text
    for obj in kube.objects.values():
        if obj["kind"] != "Secret":
            assert not any(value in json.dumps(obj) for value in values), obj["kind"]


async def test_second_pass_keeps_the_secret_and_writes_no_status(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    _add_pipeline(kube)
    await _run(kube, config, logger)
    secret = kube.named("Secret", "audit-credentials")
    kube.calls.clear()
    await _run(kube, config, logger, now=LATER)
    assert kube.named("Secret", "audit-credentials") == secret
    assert not [call for call in kube.calls if call[0] == "patch/status"]


async def test_ready_when_every_workload_is_ready(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    _add_pipeline(kube)
    first = await _run(kube, config, logger)
    _make_ready(kube)
    status = await _run(kube, config, logger, now=LATER)
    conditions = _conditions(status)
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Ready"]["lastTransitionTime"] == LATER
    assert conditions["Progressing"]["status"] == "False"
    assert conditions["RetentionApplied"]["status"] == "True"
    degraded_before = _conditions(first)["Degraded"]["lastTransitionTime"]
    assert conditions["Degraded"]["lastTransitionTime"] == degraded_before == NOW
    assert status["components"]["ingest"] == {"desired": 2, "ready": 2}
    assert status["components"]["worker"] == {"desired": 2, "ready": 2}


async def test_spec_changes_propagate_and_retention_rolls_the_workers(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    _add_pipeline(kube)
    await _run(kube, config, logger)
    _make_ready(kube)
    body = kube.objects[_ref()]
    body["spec"] = {"worker": {"replicas": 5}, "retention": {"defaultDays": 30}}
    body["metadata"]["generation"] = 2
    status = await _run(kube, config, logger, now=LATER)
    worker = kube.named("Deployment", "audit-worker")
    assert worker is not None
    assert worker["spec"]["replicas"] == 5
    env = {
        e["name"]: e.get("value")
        for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["AUDITPIPE_RETENTION_DAYS"] == "30"
    conditions = _conditions(status)
    assert conditions["RetentionApplied"]["status"] == "False"
    assert conditions["RetentionApplied"]["reason"] == "WorkersRollingOut"
    assert conditions["RetentionApplied"]["observedGeneration"] == 2
    assert status["observedGeneration"] == 2
    _make_ready(kube)
    status = await _run(kube, config, logger, now=LATER)
    assert _conditions(status)["RetentionApplied"]["status"] == "True"


async def test_disabled_features_are_pruned_but_volumes_and_foreign_objects_kept(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    spec = {
        "ingest": {
            "autoscaling": {"enabled": True},
            "ingress": {"enabled": True, "host": "a.example.com", "tls": {"secretName": "t"}},
        }
    }
    _add_pipeline(kube, spec)
    await _run(kube, config, logger)
    assert kube.named("HorizontalPodAutoscaler", "audit-ingest") is not None
    claim = kube.named("PersistentVolumeClaim", "audit-sequencer-data")
    assert claim is not None
    foreign = json.loads(json.dumps(kube.named("Service", "audit-query")))
    foreign["metadata"].update(name="audit-extra", ownerReferences=[{"uid": "someone-else"}])
    kube.add(foreign)
    kube.objects[_ref()]["spec"] = {"query": {"enabled": False}}
    await _run(kube, config, logger)
    assert kube.named("HorizontalPodAutoscaler", "audit-ingest") is None
    assert kube.named("Ingress", "audit-ingest") is None
    assert kube.named("Deployment", "audit-query") is None
    assert kube.named("Service", "audit-extra") is not None
    assert kube.named("PersistentVolumeClaim", "audit-sequencer-data") is not None


async def test_invalid_child_is_permanent_and_degrades(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    _add_pipeline(kube)
    kube.faults.append(fail_on("apply", "Deployment", KubeError(422, "Invalid", "bad field")))
    with pytest.raises(kopf.PermanentError):
        await _run(kube, config, logger)
    status = kube.objects[_ref()]["status"]
    degraded = _conditions(status)["Degraded"]
    assert (degraded["status"], degraded["reason"]) == ("True", "Invalid")
    assert status["observedGeneration"] == 0


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (KubeError(503, "ServiceUnavailable", "etcd"), 1.0),
        (KubeError(0, "Unreachable", "refused"), 1.0),
        (KubeError(403, "Forbidden", "rbac"), 30.0),
        (KubeError(404, "NotFound", "no such kind"), 30.0),
    ],
)
async def test_transient_errors_retry(
    kube: MemoryKube,
    config: OperatorConfig,
    logger: logging.Logger,
    error: KubeError,
    delay: float,
) -> None:
    _add_pipeline(kube)
    kube.faults.append(fail_on("apply", "StatefulSet", error))
    with pytest.raises(kopf.TemporaryError) as caught:
        await _run(kube, config, logger)
    assert caught.value.delay == delay


async def test_secret_creation_errors_carry_no_values(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    _add_pipeline(kube)
    leaky = KubeError(422, "Invalid", "stringData.api-key: ap_leaked-value")
    kube.faults.append(fail_on("create", "Secret", leaky))
    with pytest.raises(kopf.PermanentError) as caught:
        await _run(kube, config, logger)
    assert "ap_leaked-value" not in str(caught.value)
    assert "ap_leaked-value" not in json.dumps(kube.objects[_ref()]["status"])


async def test_an_invalid_spec_is_a_permanent_error(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    _add_pipeline(kube, {"redis": {"appendfsync": "sometimes"}})
    with pytest.raises(kopf.PermanentError, match="invalid pipeline"):
        await _run(kube, config, logger)
