"""The ``AuditPipeline`` status: conditions with observedGeneration, counts, endpoints."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from auditpipe_operator.api.base import ApiModel


class ConditionType(StrEnum):
    """The condition types the operator reports."""

    READY = "Ready"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    RETENTION_APPLIED = "RetentionApplied"


class Condition(ApiModel):
    """One condition, shaped like ``metav1.Condition``."""

    type: str = Field(description="Condition type.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    message: str = Field(default="", max_length=32768, description="Human-readable details.")
    last_transition_time: str = Field(description="When status last changed (RFC 3339).")
    observed_generation: int = Field(ge=0, description="The spec generation this describes.")


class ComponentStatus(ApiModel):
    """Pods of one component."""

    desired: int = Field(default=0, ge=0, description="Replicas wanted.")
    ready: int = Field(default=0, ge=0, description="Replicas ready.")


class Components(ApiModel):
    """Readiness per component."""

    ingest: ComponentStatus = Field(default_factory=ComponentStatus)
    sequencer: ComponentStatus = Field(default_factory=ComponentStatus)
    worker: ComponentStatus = Field(default_factory=ComponentStatus)
    query: ComponentStatus = Field(default_factory=ComponentStatus)
    redis: ComponentStatus = Field(default_factory=ComponentStatus)
    clickhouse: ComponentStatus = Field(default_factory=ComponentStatus)


class Endpoints(ApiModel):
    """Where clients reach the pipeline."""

    ingest: str | None = Field(default=None, description="In-cluster ingest URL.")
    sequencer: str | None = Field(default=None, description="In-cluster sequencer URL.")
    query: str | None = Field(default=None, description="In-cluster query URL.")
    public: str | None = Field(default=None, description="Public URL (Ingress), if any.")
    public_query: str | None = Field(default=None, description="Public query URL, if any.")


class TamperEvidenceStatus(ApiModel):
    """Where the log's keys are (names only: key material never appears in the status)."""

    deployment: str | None = Field(
        default=None,
        description="The <deployment> of every log origin auditpipe/<deployment>/<tenant>.",
    )
    signing_key_secret: str | None = Field(
        default=None, description="The Secret with the private keys (mounted by worker and ingest)."
    )
    public_keys_config_map: str | None = Field(
        default=None, description="The ConfigMap with the trusted public keys (read by query)."
    )


class AuditPipelineStatus(ApiModel):
    """Observed state, written by the operator only."""

    observed_generation: int = Field(default=0, ge=0, description="Last reconciled generation.")
    conditions: list[Condition] = Field(default_factory=list, description="Conditions.")
    components: Components = Field(default_factory=Components, description="Ready counts.")
    endpoints: Endpoints = Field(default_factory=Endpoints, description="Endpoints.")
    redis_primary: str | None = Field(default=None, description="The Redis primary pod.")
    credentials_secret: str | None = Field(
        default=None,
        description="Name of the Secret holding the bootstrap API key (the key is never here).",
    )
    tamper_evidence: TamperEvidenceStatus = Field(
        default_factory=TamperEvidenceStatus, description="The tamper-evident log's keys."
    )
