"""Drift restore of a single child, and the deletion cleanup with its retry limit."""

from __future__ import annotations

import copy
import logging
from typing import Any

import kopf
import pytest

from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.handlers.delete import finalize
from auditpipe_operator.handlers.drift import contains, restore_child
from auditpipe_operator.kube.client import ObjectRef
from auditpipe_operator.kube.errors import KubeError
from auditpipe_operator.kube.memory import MemoryKube, fail_on
from auditpipe_operator.resources import desired_state
from auditpipe_operator.testing import find, make_pipeline, pipeline_body


@pytest.mark.parametrize(
    ("actual", "wanted", "expected"),
    [
        ({"a": 1, "b": {"c": "x", "d": 2}}, {"b": {"c": "x"}}, True),
        ({"a": "1"}, {"a": 1}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": [1, 2]}, {"a": [1]}, False),
        ({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 1}]}, True),
        ({}, {"a": None}, False),
    ],
)
def test_contains(actual: Any, wanted: Any, expected: bool) -> None:
    assert contains(actual, wanted) is expected


def _setup(kube: MemoryKube, spec: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    kube.add(pipeline_body(spec))
    objects = desired_state(make_pipeline(spec))
    for obj in objects:
        kube.add(obj)
    return objects


async def test_deleted_child_is_recreated(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    objects = _setup(kube)
    service = find(objects, "Service", "audit-ingest")
    await kube.delete(ObjectRef.of(service))
    assert await restore_child(kube, "DELETED", service, config, logger)
    assert kube.named("Service", "audit-ingest") is not None


async def test_edited_child_is_put_back_and_equal_one_left_alone(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    objects = _setup(kube, {"worker": {"replicas": 3}})
    worker = copy.deepcopy(find(objects, "Deployment", "audit-worker"))
    worker["status"] = {"readyReplicas": 3}
    assert not await restore_child(kube, "MODIFIED", worker, config, logger)
    worker["spec"]["replicas"] = 10
    assert await restore_child(kube, "MODIFIED", worker, config, logger)
    stored = kube.named("Deployment", "audit-worker")
    assert stored is not None
    assert stored["spec"]["replicas"] == 3


async def test_nothing_is_restored_while_the_pipeline_goes_away(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    objects = _setup(kube)
    service = find(objects, "Service", "audit-ingest")
    pipeline = kube.named("AuditPipeline", "audit")
    assert pipeline is not None
    pipeline["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not await restore_child(kube, "DELETED", service, config, logger)
    kube.objects.clear()
    assert not await restore_child(kube, "DELETED", service, config, logger)


async def test_undesired_or_unlabelled_children_are_ignored(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    objects = _setup(kube)
    stray = copy.deepcopy(find(objects, "Service", "audit-ingest"))
    stray["metadata"]["name"] = "audit-something-else"
    assert not await restore_child(kube, "DELETED", stray, config, logger)
    del stray["metadata"]["labels"]
    assert not await restore_child(kube, "DELETED", stray, config, logger)


def _claims(kube: MemoryKube, policy: str) -> dict[str, Any]:
    spec = {"deletion": {"persistentVolumeClaims": policy}}
    _setup(kube, spec)
    sts_claim = copy.deepcopy(kube.named("PersistentVolumeClaim", "audit-sequencer-data"))
    assert sts_claim is not None
    sts_claim["metadata"]["name"] = "data-audit-redis-0"
    kube.add(sts_claim)
    body = kube.named("AuditPipeline", "audit")
    assert body is not None
    return body


async def test_retain_marks_the_volume_claims(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    body = _claims(kube, "Retain")
    await finalize(kube, body, 0, config, logger)
    for name in ("audit-sequencer-data", "data-audit-redis-0"):
        claim = kube.named("PersistentVolumeClaim", name)
        assert claim is not None
        assert claim["metadata"]["annotations"]["auditpipe.dev/retained-from"] == "ops/audit"


async def test_delete_removes_the_volume_claims(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    body = _claims(kube, "Delete")
    await finalize(kube, body, 0, config, logger)
    assert kube.named("PersistentVolumeClaim", "audit-sequencer-data") is None
    assert kube.named("PersistentVolumeClaim", "data-audit-redis-0") is None


async def test_a_failing_step_is_retried_then_given_up(
    kube: MemoryKube,
    config: OperatorConfig,
    logger: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = _claims(kube, "Delete")
    error = KubeError(500, "InternalError", "etcd timeout")
    kube.faults.append(fail_on("delete", "PersistentVolumeClaim", error, "data-audit-redis-0"))
    with pytest.raises(kopf.TemporaryError):
        await finalize(kube, body, 0, config, logger)
    # The other claim was still handled.
    assert kube.named("PersistentVolumeClaim", "audit-sequencer-data") is None
    await finalize(kube, body, config.delete_retries - 1, config, logger)
    assert "gave up" in caplog.text


async def test_listing_failure_does_not_block_forever(
    kube: MemoryKube, config: OperatorConfig, logger: logging.Logger
) -> None:
    body = _claims(kube, "Delete")
    error = KubeError(403, "Forbidden", "no list")
    kube.faults.append(fail_on("list", "PersistentVolumeClaim", error))
    with pytest.raises(kopf.TemporaryError):
        await finalize(kube, body, 1, config, logger)
    await finalize(kube, body, 2, config, logger)
