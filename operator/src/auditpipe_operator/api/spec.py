"""The ``AuditPipeline`` spec: components, stores, retention, failover, images, security."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from auditpipe_operator.api.base import (
    ApiModel,
    ImageRef,
    LocalObjectReference,
    cel,
    validations,
)
from auditpipe_operator.api.components import IngestSpec, QuerySpec, SequencerSpec, WorkerSpec
from auditpipe_operator.api.stores import ClickHouseSpec, RedisSpec
from auditpipe_operator.api.tamper import TamperEvidence

TENANT_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
DEFAULT_REPOSITORY = "ghcr.io/auditpipe"
DEFAULT_TAG = "0.1.0"


def _image(component: str) -> ImageRef:
    return ImageRef(repository=f"{DEFAULT_REPOSITORY}/{component}", tag=DEFAULT_TAG)


class TenantRetention(ApiModel):
    """Retention of one tenant's events."""

    tenant: str = Field(max_length=63, pattern=TENANT_PATTERN, description="Tenant name.")
    days: int = Field(ge=1, le=36500, description="Days kept, counted from reception.")


class Retention(ApiModel):
    """How long events are kept, counted from when auditpipe received them."""

    default_days: int = Field(default=400, ge=1, le=36500, description="Default retention.")
    per_tenant: list[TenantRetention] = Field(
        default_factory=list,
        max_length=1000,
        description="Per-tenant overrides, one entry per tenant.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["tenant"],
        },
    )

    def by_tenant(self) -> dict[str, int]:
        """The overrides as ``{tenant: days}``."""
        return {item.tenant: item.days for item in self.per_tenant}


class Failover(ApiModel):
    """What happens when the Redis primary or the sequencer disappears (docs/kubernetes.md)."""

    redis_primary_loss: Literal["Manual", "PromoteReplica"] = Field(
        default="Manual",
        description="Manual: wait for the primary pod to come back (its volume keeps the AOF), "
        "or promote a replica by hand with the auditpipe.dev/redis-primary annotation. "
        "PromoteReplica: once the primary pod has not been ready for "
        "redisPromotionGraceSeconds, the operator promotes the ready replica with the lowest "
        "ordinal; the old primary comes back as its replica. Needs redis.replicas >= 2.",
    )
    redis_promotion_grace_seconds: int = Field(
        default=30,
        ge=15,
        le=3600,
        description="How long the primary pod must have been not ready before a replica is "
        "promoted. At least 15 s: longer than the 10 s after which a primary cut off from "
        "every replica refuses writes (min-replicas-max-lag), so the old primary is fenced "
        "before the new one takes over.",
    )
    redis_replica_acks: int = Field(
        default=0,
        ge=0,
        le=4,
        description="Ingest acknowledges a batch only once this many Redis replicas hold it "
        "(WAIT). redis.replicas - 1 makes a promotion lose nothing acknowledged; fewer "
        "leaves the window of a lagging replica (docs/reliability.md).",
    )
    sequencer_loss: Literal["Recreate"] = Field(
        default="Recreate",
        description="The sequencer Deployment uses the Recreate strategy on a ReadWriteOnce "
        "volume. Each sequencer claims a new fencing epoch at start (kept in Redis and in its "
        "durable reservations); a sequencer whose epoch is no longer the newest is fenced: "
        "it never hands out another number. The new one resumes above the durable "
        "reservations, so numbers never repeat.",
    )


class Images(ApiModel):
    """Images of the auditpipe deployables."""

    ingest: ImageRef = Field(default_factory=lambda: _image("ingest"), description="Ingest.")
    sequencer: ImageRef = Field(
        default_factory=lambda: _image("sequencer"), description="Sequencer."
    )
    worker: ImageRef = Field(default_factory=lambda: _image("worker"), description="Worker.")
    query: ImageRef = Field(default_factory=lambda: _image("query"), description="Query API.")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent", description="Image pull policy of every container."
    )


class PodSecurity(ApiModel):
    """Security settings of every pod and container."""

    run_as_non_root: bool = Field(default=True, description="Refuse to run as root.")
    run_as_user: int = Field(default=10001, ge=1, description="UID of the containers.")
    run_as_group: int = Field(default=10001, ge=1, description="GID of the containers.")
    fs_group: int = Field(default=10001, ge=1, description="Group owning the volumes.")
    read_only_root_filesystem: bool = Field(
        default=True,
        description="Read-only root file system for the auditpipe containers "
        "(Redis and ClickHouse write next to their data and keep theirs writable).",
    )
    seccomp_profile: Literal["RuntimeDefault", "Unconfined"] = Field(
        default="RuntimeDefault", description="Seccomp profile type."
    )


class DeletionPolicy(ApiModel):
    """What deleting the AuditPipeline removes besides the objects it owns."""

    persistent_volume_claims: Literal["Retain", "Delete"] = Field(
        default="Retain",
        description="Retain keeps the Redis, ClickHouse and sequencer volumes (labelled "
        "auditpipe.dev/retained-from); Delete removes them with the pipeline.",
    )


class Logging(ApiModel):
    """Log settings of the auditpipe containers."""

    format: Literal["json", "console"] = Field(default="json", description="Log format.")
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level."
    )


class AuditPipelineSpec(ApiModel):
    """Desired state of one audit pipeline."""

    # The guards: the API server also checks these rules on the spec's default ({}).
    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.failover) || !has(self.redis) || "
                "self.failover.redisPrimaryLoss != 'PromoteReplica' || self.redis.replicas >= 2",
                "failover.redisPrimaryLoss PromoteReplica needs redis.replicas >= 2",
            ),
            cel(
                "!has(self.failover) || !has(self.redis) || "
                "self.failover.redisReplicaAcks < self.redis.replicas",
                "failover.redisReplicaAcks must be below redis.replicas (one pod is the primary)",
            ),
        )
    )

    ingest: IngestSpec = Field(default_factory=IngestSpec, description="Ingest API.")
    sequencer: SequencerSpec = Field(default_factory=SequencerSpec, description="Sequencer.")
    worker: WorkerSpec = Field(default_factory=WorkerSpec, description="Workers.")
    query: QuerySpec = Field(default_factory=QuerySpec, description="Query API.")
    redis: RedisSpec = Field(default_factory=RedisSpec, description="Redis (the buffer).")
    clickhouse: ClickHouseSpec = Field(default_factory=ClickHouseSpec, description="The store.")
    retention: Retention = Field(default_factory=Retention, description="Retention policy.")
    failover: Failover = Field(default_factory=Failover, description="Failover policy.")
    tamper_evidence: TamperEvidence = Field(
        default_factory=TamperEvidence,
        description="The tamper-evident log: signed checkpoints and receipts (docs/kubernetes.md).",
    )
    images: Images = Field(default_factory=Images, description="auditpipe images.")
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list, description="Pull secrets for every pod."
    )
    security: PodSecurity = Field(default_factory=PodSecurity, description="Pod security.")
    deletion: DeletionPolicy = Field(default_factory=DeletionPolicy, description="On deletion.")
    logging: Logging = Field(default_factory=Logging, description="Logging.")
    stream_shards: int = Field(
        default=4,
        ge=1,
        le=1024,
        description="Redis Streams shards; fixed at creation (entries live on their shard).",
        json_schema_extra=validations(cel("self == oldSelf", "streamShards cannot change")),
    )
    bootstrap_tenant: str = Field(
        default="default",
        pattern=TENANT_PATTERN,
        description="Tenant of the generated bootstrap API key (in the credentials Secret).",
    )
