"""The AuditPipeline models: defaults, camelCase names, parsing an object from the API."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from auditpipe_operator.api import AuditPipelineSpec, Pipeline
from auditpipe_operator.api.base import ImageRef


def test_defaults_describe_a_complete_pipeline() -> None:
    spec = AuditPipelineSpec()
    assert spec.ingest.replicas == 2
    assert spec.sequencer.replicas == 1
    assert spec.redis.appendfsync == "everysec"
    assert spec.clickhouse.mode == "statefulset"
    assert spec.retention.default_days == 400
    assert spec.deletion.persistent_volume_claims == "Retain"
    assert spec.security.run_as_non_root is True
    assert spec.images.ingest.reference == "ghcr.io/auditpipe/ingest:0.1.0"
    tamper = spec.tamper_evidence
    assert (tamper.checkpoint_events, tamper.checkpoint_interval_seconds) == (10_000, 10)
    assert (tamper.signing_key_secret, tamper.log_keys, tamper.ingest_key) == (
        None,
        ["log.pem"],
        "ingest.pem",
    )


def test_wire_names_are_camel_case() -> None:
    spec = AuditPipelineSpec.model_validate(
        {
            "ingest": {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 55}},
            "worker": {"batchRows": 5000},
            "retention": {"defaultDays": 30, "perTenant": [{"tenant": "acme", "days": 7}]},
            "imagePullSecrets": [{"name": "regcred"}],
        }
    )
    assert spec.ingest.autoscaling.target_cpu_utilization_percentage == 55
    assert spec.worker.batch_rows == 5000
    assert spec.retention.by_tenant() == {"acme": 7}
    assert spec.image_pull_secrets[0].name == "regcred"
    dumped = spec.model_dump(by_alias=True)
    assert dumped["worker"]["batchRows"] == 5000
    assert "targetCPUUtilizationPercentage" in dumped["ingest"]["autoscaling"]


@pytest.mark.parametrize(
    "spec",
    [
        {"retention": {"perTenant": [{"tenant": "Bad Tenant", "days": 3}]}},
        {"retention": {"defaultDays": 0}},
        {"redis": {"appendfsync": "no"}},
        {"clickhouse": {"mode": "chdb"}},
        {"ingest": {"resources": {"requests": {"cpu": "lots"}}}},
        {"sequencer": {"replicas": 2}},
    ],
)
def test_invalid_values_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AuditPipelineSpec.model_validate(spec)


def test_models_are_immutable() -> None:
    image = ImageRef(repository="r", tag="t")
    with pytest.raises(ValidationError):
        image.tag = "u"  # type: ignore[misc]


def test_pipeline_from_body_keeps_identity_and_owner_reference() -> None:
    body = {
        "apiVersion": "auditpipe.dev/v1alpha1",
        "kind": "AuditPipeline",
        "metadata": {"name": "audit", "namespace": "ops", "uid": "u-1", "generation": 3},
        "spec": {"worker": {"replicas": 4}},
    }
    pipeline = Pipeline.from_body(body)
    assert (pipeline.name, pipeline.namespace, pipeline.generation) == ("audit", "ops", 3)
    assert pipeline.spec.worker.replicas == 4
    owner = pipeline.owner_reference()
    assert owner["uid"] == "u-1"
    assert owner["controller"] is True
    assert owner["kind"] == "AuditPipeline"


def test_a_partial_override_keeps_the_component_defaults() -> None:
    spec = AuditPipelineSpec.model_validate(
        {
            "query": {"service": {"type": "NodePort"}},
            "sequencer": {"storage": {"storageClassName": "fast"}},
            "clickhouse": {"storage": {"storageClassName": "fast"}},
        }
    )
    assert spec.query.service.port == 8702
    assert spec.sequencer.storage.size == "1Gi"
    assert spec.clickhouse.storage.size == "50Gi"
