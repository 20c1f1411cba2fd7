"""Spec models of the stateful parts: Redis and ClickHouse."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from auditpipe_operator.api.base import (
    DNS_SUBDOMAIN_PATTERN,
    IMMUTABLE_STORAGE,
    ApiModel,
    ImageRef,
    Quantity,
    ResourceName,
    ResourceRequirements,
    Storage,
    cel,
    validations,
)


class RedisSpec(ApiModel):
    """Redis with Streams and the append-only file on: the durable buffer."""

    image: ImageRef = Field(
        default_factory=lambda: ImageRef(repository="docker.io/library/redis", tag="7.4"),
        description="Redis image (needs redis-server, redis-cli, sh and sha256sum).",
    )
    replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Pods: one primary (pod 0 until a failover), the others replicate it.",
    )
    appendfsync: Literal["everysec", "always"] = Field(
        default="everysec",
        description="AOF fsync policy: everysec may lose about a second of accepted events "
        "on a power loss of the Redis host; always closes that window at the cost of an "
        "fsync per write.",
    )
    storage: Storage = Field(
        default_factory=lambda: Storage(size="8Gi"),
        description="Persistent volume per Redis pod.",
        json_schema_extra=validations(IMMUTABLE_STORAGE),
    )
    resources: ResourceRequirements = Field(
        default_factory=lambda: ResourceRequirements(
            requests={"cpu": "250m", "memory": "1Gi"}, limits={"memory": "2Gi"}
        ),
        description="Container resources.",
    )


class ClickHouseStorage(Storage):
    """The ClickHouse server's volume: the events themselves."""

    size: Quantity = Field(default="50Gi", description="Requested capacity.")


class ExternalClickHouse(ApiModel):
    """A ClickHouse server the operator does not run."""

    host: str = Field(
        min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN, description="Server host."
    )
    port: int = Field(default=8123, ge=1, le=65535, description="HTTP(S) port.")
    secure: bool = Field(default=False, description="Use HTTPS.")
    credentials_secret: ResourceName = Field(
        description="Secret with the user name and password (URL-safe characters)."
    )
    username_key: str = Field(default="username", min_length=1, description="Key of the user.")
    password_key: str = Field(default="password", min_length=1, description="Key of the password.")


class ClickHouseSpec(ApiModel):
    """The store: a StatefulSet run by this operator, an Altinity installation, or external."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.mode != 'external' || has(self.external)",
                "mode external needs clickhouse.external (host and credentialsSecret)",
            ),
            cel(
                "self.mode != 'statefulset' || (self.shards == 1 && self.replicas == 1)",
                "the operator's own ClickHouse StatefulSet runs one server; "
                "use mode altinity for shards and replicas",
            ),
            cel(
                "self.mode != 'altinity' || self.replicas == 1 || size(self.zookeeperHosts) > 0",
                "replicated ClickHouse (replicas > 1) needs zookeeperHosts",
            ),
        )
    )

    mode: Literal["statefulset", "altinity", "external"] = Field(
        default="statefulset",
        description="statefulset: one server run by this operator; altinity: a "
        "ClickHouseInstallation for the Altinity operator; external: a server elsewhere.",
        json_schema_extra=validations(cel("self == oldSelf", "mode cannot change")),
    )
    image: ImageRef = Field(
        default_factory=lambda: ImageRef(
            repository="docker.io/clickhouse/clickhouse-server", tag="24.8"
        ),
        description="ClickHouse server image (statefulset and altinity modes).",
    )
    database: str = Field(
        default="auditpipe", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Database name."
    )
    shards: int = Field(default=1, ge=1, le=64, description="Shards (altinity mode).")
    replicas: int = Field(default=1, ge=1, le=8, description="Replicas per shard (altinity).")
    zookeeper_hosts: list[str] = Field(
        default_factory=list,
        max_length=7,
        description="ZooKeeper / ClickHouse Keeper host:port list for replicated tables.",
    )
    storage: ClickHouseStorage = Field(
        default_factory=ClickHouseStorage,
        description="Persistent volume per ClickHouse server.",
        json_schema_extra=validations(IMMUTABLE_STORAGE),
    )
    resources: ResourceRequirements = Field(
        default_factory=lambda: ResourceRequirements(
            requests={"cpu": "1", "memory": "2Gi"}, limits={"memory": "4Gi"}
        ),
        description="Container resources (statefulset and altinity modes).",
    )
    external: ExternalClickHouse | None = Field(
        default=None, description="The server, in mode external."
    )
