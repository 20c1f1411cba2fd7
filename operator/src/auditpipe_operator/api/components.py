"""Spec models of the stateless components: ingest, sequencer, worker, query."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from auditpipe_operator.api.base import (
    DNS_SUBDOMAIN_PATTERN,
    IMMUTABLE_STORAGE,
    ApiModel,
    Autoscaling,
    Quantity,
    ResourceName,
    ResourceRequirements,
    ServiceType,
    Storage,
    cel,
    validations,
)


class CertManagerIssuer(ApiModel):
    """A cert-manager issuer that should provide the TLS certificate."""

    kind: Literal["ClusterIssuer", "Issuer"] = Field(
        default="ClusterIssuer", description="Issuer kind."
    )
    name: ResourceName = Field(description="Issuer name.")


class IngressTLS(ApiModel):
    """TLS of an Ingress: an existing Secret, or one cert-manager fills in."""

    secret_name: ResourceName | None = Field(
        default=None,
        description="Secret with the certificate; with an issuer, where cert-manager puts it "
        "(default: <pipeline>-<component>-tls).",
    )
    issuer: CertManagerIssuer | None = Field(
        default=None, description="Annotate the Ingress for cert-manager with this issuer."
    )


class IngressSpec(ApiModel):
    """An Ingress with TLS in front of a component."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("!self.enabled || has(self.host)", "an enabled ingress needs a host"),
            cel(
                "!self.enabled || has(self.tls.secretName) || has(self.tls.issuer)",
                "an enabled ingress needs tls.secretName or tls.issuer (TLS at the edge)",
            ),
        )
    )

    enabled: bool = Field(default=False, description="Create the Ingress.")
    class_name: ResourceName | None = Field(default=None, description="IngressClass name.")
    host: str | None = Field(
        default=None, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN, description="Public host."
    )
    tls: IngressTLS = Field(default_factory=IngressTLS, description="TLS settings.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Extra annotations (e.g. for the ingress controller)."
    )


class ServiceSpec(ApiModel):
    """The Service in front of a component."""

    type: ServiceType = Field(default="ClusterIP", description="Service type.")
    port: int = Field(default=8700, ge=1, le=65535, description="Service port.")


class QueryServiceSpec(ServiceSpec):
    """The Service in front of the query API (its own default port)."""

    port: int = Field(default=8702, ge=1, le=65535, description="Service port.")


class SequencerStorage(Storage):
    """The sequencer's volume: one small file of reservations."""

    size: Quantity = Field(default="1Gi", description="Requested capacity.")


class IngestSpec(ApiModel):
    """The ingest API (stateless, behind a Service and optionally an Ingress)."""

    replicas: int = Field(default=2, ge=0, le=1000, description="Replicas without autoscaling.")
    resources: ResourceRequirements = Field(
        default_factory=lambda: ResourceRequirements(
            requests={"cpu": "250m", "memory": "256Mi"}, limits={"memory": "512Mi"}
        ),
        description="Container resources.",
    )
    autoscaling: Autoscaling = Field(default_factory=Autoscaling, description="HPA.")
    service: ServiceSpec = Field(
        default_factory=lambda: ServiceSpec(port=8700), description="Service."
    )
    ingress: IngressSpec = Field(
        default_factory=IngressSpec,
        description="Ingress: / goes to ingest and /v1/sequence to the sequencer.",
    )
    max_unavailable: int = Field(
        default=1, ge=1, description="PodDisruptionBudget: most ingest pods down at once."
    )


class SequencerSpec(ApiModel):
    """The sequencer: one writer of the durable per-tenant reservations."""

    replicas: int = Field(
        default=1,
        ge=0,
        le=1,
        description="0 or 1. The sequencer keeps its reservations in one file on a "
        "ReadWriteOnce volume and is replaced with the Recreate strategy, so two "
        "sequencers never write at once.",
    )
    resources: ResourceRequirements = Field(
        default_factory=lambda: ResourceRequirements(
            requests={"cpu": "100m", "memory": "128Mi"}, limits={"memory": "256Mi"}
        ),
        description="Container resources.",
    )
    storage: SequencerStorage = Field(
        default_factory=SequencerStorage,
        description="Volume of the reservations file.",
        json_schema_extra=validations(IMMUTABLE_STORAGE),
    )
    reserve_block: int = Field(
        default=100_000, ge=1, description="How far ahead a reservation is raised at a time."
    )


class WorkerSpec(ApiModel):
    """The workers that move events from Redis Streams into ClickHouse."""

    replicas: int = Field(default=2, ge=0, le=1000, description="Replicas without autoscaling.")
    resources: ResourceRequirements = Field(
        default_factory=lambda: ResourceRequirements(
            requests={"cpu": "500m", "memory": "512Mi"}, limits={"memory": "1Gi"}
        ),
        description="Container resources.",
    )
    autoscaling: Autoscaling = Field(default_factory=Autoscaling, description="HPA.")
    batch_rows: int = Field(default=20_000, ge=1, le=1_000_000, description="Rows per insert.")
    batch_wait_ms: int = Field(
        default=250, ge=1, le=60_000, description="Longest wait to fill a batch."
    )


class QuerySpec(ApiModel):
    """The query / export API."""

    enabled: bool = Field(default=True, description="Run the query API.")
    replicas: int = Field(default=1, ge=0, le=100, description="Replicas.")
    resources: ResourceRequirements = Field(
        default_factory=lambda: ResourceRequirements(
            requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "512Mi"}
        ),
        description="Container resources.",
    )
    service: QueryServiceSpec = Field(default_factory=QueryServiceSpec, description="Service.")
    ingress: IngressSpec = Field(
        default_factory=IngressSpec,
        description="Expose the query API (own host); otherwise only in-namespace pods reach it.",
    )
