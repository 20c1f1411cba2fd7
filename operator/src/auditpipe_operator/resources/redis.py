"""Redis: a StatefulSet with the append-only file on, its config, and two Services.

Pod 0 is the primary; other pods replicate it. The client Service selects pod 0
by name, so ingest, sequencer, workers and query always talk to the primary.
The password comes from the credentials Secret and is written at start-up into
a memory-backed file that ``redis.conf`` includes, never into the pod spec.
"""

from __future__ import annotations

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.config import REDIS_PASSWORD_KEY, REDIS_PORT, credentials_name
from auditpipe_operator.resources.meta import (
    Manifest,
    child_name,
    content_hash,
    manifest,
    metadata,
    selector_labels,
)
from auditpipe_operator.resources.pods import (
    container,
    empty_dir,
    env,
    exec_probe,
    label_selector,
    pod_template,
    secret_env,
)
from auditpipe_operator.resources.quantity import quantity_bytes
from auditpipe_operator.resources.storage import claim_retention, claim_template

COMPONENT = "redis"
START_SCRIPT = """\
set -eu
umask 077
printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" \\
  > /run/redis/auth.conf
if [ "${HOSTNAME##*-}" != "0" ]; then
  exec redis-server /etc/redis/redis.conf --replicaof "$PRIMARY_HOST" "$REDIS_PORT"
fi
exec redis-server /etc/redis/redis.conf
"""
PING = ["sh", "-c", 'test "$(redis-cli -p "$REDIS_PORT" ping)" = PONG']


def headless_name(pipeline: Pipeline) -> str:
    """The headless Service that names each Redis pod."""
    return child_name(pipeline, "redis-headless")


def redis_conf(pipeline: Pipeline) -> str:
    """``redis.conf``: AOF with the chosen fsync policy, never evict queued events."""
    redis = pipeline.spec.redis
    lines = [
        f"port {REDIS_PORT}",
        "bind * -::*",
        "dir /data",
        "appendonly yes",
        f"appendfsync {redis.appendfsync}",
        "aof-use-rdb-preamble yes",
        "maxmemory-policy noeviction",
    ]
    limit = redis.resources.limits.get("memory")
    limit_bytes = quantity_bytes(limit) if limit is not None else None
    if limit_bytes:
        # Leave room for the AOF rewrite buffer and fragmentation below the pod limit.
        lines.append(f"maxmemory {limit_bytes * 3 // 4}")
    lines.append("include /run/redis/auth.conf")
    return "\n".join(lines) + "\n"


def redis_configmap(pipeline: Pipeline) -> Manifest:
    """The ConfigMap holding ``redis.conf``."""
    meta = metadata(pipeline, child_name(pipeline, "redis-config"), COMPONENT)
    return manifest("v1", "ConfigMap", meta, data={"redis.conf": redis_conf(pipeline)})


def redis_services(pipeline: Pipeline) -> list[Manifest]:
    """The headless Service (pod DNS names) and the client Service (the primary only)."""
    port = {"name": "redis", "port": REDIS_PORT, "targetPort": "redis", "protocol": "TCP"}
    headless = {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "selector": selector_labels(pipeline, COMPONENT),
        "ports": [port],
    }
    primary_pod = f"{child_name(pipeline, 'redis')}-0"
    client = {
        "type": "ClusterIP",
        "selector": {
            **selector_labels(pipeline, COMPONENT),
            "statefulset.kubernetes.io/pod-name": primary_pod,
        },
        "ports": [port],
    }
    return [
        manifest(
            "v1", "Service", metadata(pipeline, headless_name(pipeline), COMPONENT), spec=headless
        ),
        manifest(
            "v1",
            "Service",
            metadata(pipeline, child_name(pipeline, "redis"), COMPONENT),
            spec=client,
        ),
    ]


def redis_container(pipeline: Pipeline) -> Manifest:
    """The redis-server container."""
    redis = pipeline.spec.redis
    secret = credentials_name(pipeline)
    primary = f"{child_name(pipeline, 'redis')}-0.{headless_name(pipeline)}"
    variables = [
        secret_env("REDIS_PASSWORD", secret, REDIS_PASSWORD_KEY),
        secret_env("REDISCLI_AUTH", secret, REDIS_PASSWORD_KEY),
        env("REDIS_PORT", REDIS_PORT),
        env("PRIMARY_HOST", f"{primary}.{pipeline.namespace}.svc"),
    ]
    mounts = [
        {"name": "data", "mountPath": "/data"},
        {"name": "config", "mountPath": "/etc/redis", "readOnly": True},
        {"name": "run", "mountPath": "/run/redis"},
    ]
    return container(
        pipeline,
        "redis",
        redis.image,
        redis.resources,
        command=["sh", "-c", START_SCRIPT],
        env=variables,
        ports=[{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        volumeMounts=mounts,
        readinessProbe=exec_probe(PING, period=5),
        livenessProbe={**exec_probe(PING, period=10), "initialDelaySeconds": 30},
    )


def redis_statefulset(pipeline: Pipeline) -> Manifest:
    """The Redis StatefulSet with one persistent volume per pod."""
    config = {"name": "config", "configMap": {"name": child_name(pipeline, "redis-config")}}
    annotations = {"auditpipe.dev/config-hash": content_hash(redis_conf(pipeline))}
    template = pod_template(
        pipeline,
        COMPONENT,
        [redis_container(pipeline)],
        annotations=annotations,
        volumes=[config, empty_dir("run", medium="Memory")],
        terminationGracePeriodSeconds=60,
    )
    spec = {
        "serviceName": headless_name(pipeline),
        "replicas": pipeline.spec.redis.replicas,
        "selector": label_selector(pipeline, COMPONENT),
        "template": template,
        "volumeClaimTemplates": [claim_template(pipeline, COMPONENT, pipeline.spec.redis.storage)],
        "persistentVolumeClaimRetentionPolicy": claim_retention(pipeline),
    }
    meta = metadata(pipeline, child_name(pipeline, "redis"), COMPONENT)
    return manifest("apps/v1", "StatefulSet", meta, spec=spec)


def redis_objects(pipeline: Pipeline) -> list[Manifest]:
    """Every Redis object, in apply order."""
    return [redis_configmap(pipeline), *redis_services(pipeline), redis_statefulset(pipeline)]
