"""Redis: a StatefulSet with the append-only file on, its config, and two Services.

One pod is the primary (pod 0 unless the pipeline's ``auditpipe.dev/redis-primary``
annotation names another ordinal); the others replicate it. The ConfigMap's
``primary`` key holds that ordinal, and the client Service selects that pod by
name, so ingest, sequencer, workers and query always talk to the primary.

Every Redis pod runs a *role agent* beside redis-server: every two seconds it
makes the server's role match the ``primary`` key of the mounted ConfigMap
(``REPLICAOF NO ONE`` on the named pod, ``REPLICAOF <primary>`` on the others),
so a promotion needs no restart and an old primary that comes back rejoins as a
replica (its writes nobody replicated are discarded). The start script reads the
same key. The password comes from the credentials Secret and is written at
start-up into a memory-backed file that ``redis.conf`` includes, never into the
pod spec.
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
    HELPER_RESOURCES,
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
# A primary cut off from every replica for this long refuses writes (under PromoteReplica).
FENCE_LAG_SECONDS = 10
START_SCRIPT = """\
set -eu
umask 077
printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" \\
  > /run/redis/auth.conf
primary=$(cat /etc/redis/primary)
if [ "${HOSTNAME##*-}" != "$primary" ]; then
  peer="$PEER_PREFIX$primary$PEER_SUFFIX"
  exec redis-server /etc/redis/redis.conf --replicaof "$peer" "$REDIS_PORT"
fi
exec redis-server /etc/redis/redis.conf
"""
# One step of the role agent: make this server's role match /etc/redis/primary.
ROLE_SCRIPT = """\
set -eu
primary=$(cat /etc/redis/primary)
info=$(redis-cli -h "$SELF_HOST" -p "$REDIS_PORT" info replication | tr -d '\\r')
role=$(printf '%s\\n' "$info" | sed -n 's/^role://p')
if [ "${HOSTNAME##*-}" = "$primary" ]; then
  if [ "$role" != master ]; then
    redis-cli -h "$SELF_HOST" -p "$REDIS_PORT" replicaof no one >/dev/null
    echo "promoted to primary"
  fi
  exit 0
fi
host="$PEER_PREFIX$primary$PEER_SUFFIX"
current=$(printf '%s\\n' "$info" | sed -n 's/^master_host://p')
if [ "$role" = master ] || [ "$current" != "$host" ]; then
  redis-cli -h "$SELF_HOST" -p "$REDIS_PORT" replicaof "$host" "$REDIS_PORT" >/dev/null
  echo "replicating $host"
fi
"""
AGENT_LOOP = 'while :; do sh -c "$ROLE_SCRIPT" || echo "role check failed" >&2; sleep 2; done'
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
    if pipeline.spec.failover.redis_primary_loss == "PromoteReplica":
        # Fencing: a primary that no replica follows (cut off, or replaced by a promoted
        # replica) stops accepting writes, so two primaries never both take events.
        lines += ["min-replicas-to-write 1", f"min-replicas-max-lag {FENCE_LAG_SECONDS}"]
    limit = redis.resources.limits.get("memory")
    limit_bytes = quantity_bytes(limit) if limit is not None else None
    if limit_bytes:
        # Leave room for the AOF rewrite buffer and fragmentation below the pod limit.
        lines.append(f"maxmemory {limit_bytes * 3 // 4}")
    lines.append("include /run/redis/auth.conf")
    return "\n".join(lines) + "\n"


def redis_configmap(pipeline: Pipeline) -> Manifest:
    """``redis.conf`` and ``primary`` (the primary's ordinal; changing it rolls no pod)."""
    meta = metadata(pipeline, child_name(pipeline, "redis-config"), COMPONENT)
    data = {"redis.conf": redis_conf(pipeline), "primary": str(pipeline.redis_primary)}
    return manifest("v1", "ConfigMap", meta, data=data)


def primary_pod(pipeline: Pipeline) -> str:
    """Name of the pod that is the Redis primary."""
    return f"{child_name(pipeline, 'redis')}-{pipeline.redis_primary}"


def redis_services(pipeline: Pipeline) -> list[Manifest]:
    """The headless Service (pod DNS names) and the client Service (the primary only)."""
    port = {"name": "redis", "port": REDIS_PORT, "targetPort": "redis", "protocol": "TCP"}
    headless = {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "selector": selector_labels(pipeline, COMPONENT),
        "ports": [port],
    }
    client = {
        "type": "ClusterIP",
        "selector": {
            **selector_labels(pipeline, COMPONENT),
            "statefulset.kubernetes.io/pod-name": primary_pod(pipeline),
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


def peer_env(pipeline: Pipeline) -> list[Manifest]:
    """Redis port, password, and how to name pod N: ``$PEER_PREFIX<N>$PEER_SUFFIX``."""
    secret = credentials_name(pipeline)
    return [
        secret_env("REDISCLI_AUTH", secret, REDIS_PASSWORD_KEY),
        env("REDIS_PORT", REDIS_PORT),
        env("PEER_PREFIX", f"{child_name(pipeline, 'redis')}-"),
        env("PEER_SUFFIX", f".{headless_name(pipeline)}.{pipeline.namespace}.svc"),
    ]


def redis_container(pipeline: Pipeline) -> Manifest:
    """The redis-server container."""
    redis = pipeline.spec.redis
    password = secret_env("REDIS_PASSWORD", credentials_name(pipeline), REDIS_PASSWORD_KEY)
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
        env=[password, *peer_env(pipeline)],
        ports=[{"name": "redis", "containerPort": REDIS_PORT, "protocol": "TCP"}],
        volumeMounts=mounts,
        readinessProbe=exec_probe(PING, period=5),
        livenessProbe={**exec_probe(PING, period=10), "initialDelaySeconds": 30},
    )


def role_agent_container(pipeline: Pipeline) -> Manifest:
    """The role agent: keeps the server's role in line with the ConfigMap's ``primary``."""
    variables = [
        *peer_env(pipeline),
        env("SELF_HOST", "127.0.0.1"),
        env("ROLE_SCRIPT", ROLE_SCRIPT),
    ]
    return container(
        pipeline,
        "role-agent",
        pipeline.spec.redis.image,
        HELPER_RESOURCES,
        command=["sh", "-c", AGENT_LOOP],
        env=variables,
        volumeMounts=[{"name": "config", "mountPath": "/etc/redis", "readOnly": True}],
    )


def redis_statefulset(pipeline: Pipeline) -> Manifest:
    """The Redis StatefulSet with one persistent volume per pod."""
    config = {"name": "config", "configMap": {"name": child_name(pipeline, "redis-config")}}
    annotations = {"auditpipe.dev/config-hash": content_hash(redis_conf(pipeline))}
    template = pod_template(
        pipeline,
        COMPONENT,
        [redis_container(pipeline), role_agent_container(pipeline)],
        annotations=annotations,
        volumes=[config, empty_dir("run", medium="Memory")],
        terminationGracePeriodSeconds=60,
    )
    spec = {
        "serviceName": headless_name(pipeline),
        "replicas": pipeline.redis_pods,
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
