"""Building blocks shared by the spec models: the base class, quantities, images, storage."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

# https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

Quantity = Annotated[
    int | Annotated[str, StringConstraints(pattern=QUANTITY_PATTERN)],
    Field(description="A Kubernetes quantity, e.g. 500m, 2, 1Gi."),
]
ResourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
]


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry (a CEL rule the API server enforces)."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """``json_schema_extra`` that attaches CEL rules to a model's schema."""
    return {"x-kubernetes-validations": list(rules)}


IMMUTABLE_STORAGE = cel(
    "self == oldSelf", "storage cannot change (volume claims are immutable once created)"
)


class ApiModel(BaseModel):
    """Base of every model of the custom resource: camelCase on the wire, immutable here."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
    )


class ImageRef(ApiModel):
    """A container image."""

    repository: str = Field(min_length=1, description="Image repository, without the tag.")
    tag: str = Field(min_length=1, pattern=r"^[\w][\w.-]{0,127}$", description="Image tag.")

    @property
    def reference(self) -> str:
        """``repository:tag``."""
        return f"{self.repository}:{self.tag}"


class ResourceRequirements(ApiModel):
    """Compute resources of a container (as in a Pod spec)."""

    requests: dict[str, Quantity] = Field(default_factory=dict, description="Requested resources.")
    limits: dict[str, Quantity] = Field(default_factory=dict, description="Resource limits.")


class Autoscaling(ApiModel):
    """A HorizontalPodAutoscaler on CPU utilisation."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("self.minReplicas <= self.maxReplicas", "minReplicas must be <= maxReplicas"),
        )
    )

    enabled: bool = Field(default=False, description="Create an HPA; replicas is then ignored.")
    min_replicas: int = Field(default=2, ge=1, le=1000, description="Fewest replicas.")
    max_replicas: int = Field(default=10, ge=1, le=1000, description="Most replicas.")
    target_cpu_utilization_percentage: int = Field(
        default=70,
        ge=1,
        le=100,
        alias="targetCPUUtilizationPercentage",
        description="Average CPU utilisation (percent of requests) the HPA aims for.",
    )


class Storage(ApiModel):
    """A persistent volume claim template."""

    size: Quantity = Field(default="8Gi", description="Requested capacity.")
    storage_class_name: ResourceName | None = Field(
        default=None, description="StorageClass; the cluster default when empty."
    )


class LocalObjectReference(ApiModel):
    """A reference to an object in the same namespace, by name."""

    name: ResourceName


ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]
