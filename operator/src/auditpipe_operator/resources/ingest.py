"""Ingest: Deployment (with the bootstrap-key registration), Service, Ingress, HPA, PDB."""

from __future__ import annotations

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.apps import (
    INGEST_PORT,
    SEQUENCER_PORT,
    app_container,
    app_template,
)
from auditpipe_operator.resources.config import (
    API_KEY,
    KEY_PREFIX,
    REDIS_PASSWORD_KEY,
    REDIS_PORT,
    credentials_name,
    redis_host,
)
from auditpipe_operator.resources.exposure import (
    autoscaler,
    deployment,
    disruption_budget,
    ingress,
    service,
)
from auditpipe_operator.resources.meta import Manifest, child_name
from auditpipe_operator.resources.pods import HELPER_RESOURCES, container, env, secret_env
from auditpipe_operator.resources.signing import (
    ingest_log_env,
    keys_annotations,
    signing_mount,
    signing_volume,
)

COMPONENT = "ingest"

# Registers the bootstrap key the way auditpipe_common.apikeys stores keys: the SHA-256
# of the key as a field of {prefix}:apikeys. HSETNX keeps an existing registration.
# The key itself only ever lives in the Secret and this container's environment.
REGISTER_KEY_SCRIPT = """\
set -eu
digest=$(printf '%s' "$BOOTSTRAP_API_KEY" | sha256sum | cut -d' ' -f1)
info=$(printf '{"tenant":"%s","name":"bootstrap","created_at":0}' "$BOOTSTRAP_TENANT")
out=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" HSETNX "$KEY_PREFIX:apikeys" "$digest" "$info")
case "$out" in
  0|1) echo "bootstrap API key registered for tenant $BOOTSTRAP_TENANT" ;;
  *) echo "redis answered: $out" >&2; exit 1 ;;
esac
"""


def register_key_container(pipeline: Pipeline) -> Manifest:
    """Init container that registers the bootstrap API key in Redis (idempotent)."""
    secret = credentials_name(pipeline)
    redis = pipeline.spec.redis
    variables = [
        secret_env("BOOTSTRAP_API_KEY", secret, API_KEY),
        secret_env("REDISCLI_AUTH", secret, REDIS_PASSWORD_KEY),
        env("BOOTSTRAP_TENANT", pipeline.spec.bootstrap_tenant),
        env("REDIS_HOST", redis_host(pipeline)),
        env("REDIS_PORT", REDIS_PORT),
        env("KEY_PREFIX", KEY_PREFIX),
    ]
    command = ["sh", "-c", REGISTER_KEY_SCRIPT]
    return container(
        pipeline, "register-key", redis.image, HELPER_RESOURCES, command=command, env=variables
    )


def ingest_deployment(pipeline: Pipeline) -> Manifest:
    """The ingest Deployment (no replica count when an HPA owns it)."""
    spec = pipeline.spec
    acks = env("AUDITPIPE_MIN_REPLICA_ACKS", spec.failover.redis_replica_acks)
    main = app_container(
        pipeline,
        COMPONENT,
        spec.images.ingest,
        spec.ingest.resources,
        port=INGEST_PORT,
        extra_env=[acks, *ingest_log_env(pipeline)],
        mounts=[signing_mount()],
    )
    template = app_template(
        pipeline,
        COMPONENT,
        main,
        init_containers=[register_key_container(pipeline)],
        volumes=[signing_volume(pipeline, [spec.tamper_evidence.ingest_key])],
        annotations=keys_annotations(pipeline),
    )
    replicas = None if spec.ingest.autoscaling.enabled else spec.ingest.replicas
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    return deployment(pipeline, COMPONENT, template, replicas=replicas, strategy=rolling)


def ingest_objects(pipeline: Pipeline) -> list[Manifest]:
    """Every object of the ingest component, in apply order."""
    spec = pipeline.spec.ingest
    objects = [
        service(pipeline, COMPONENT, spec.service),
        ingest_deployment(pipeline),
        disruption_budget(pipeline, COMPONENT, spec.max_unavailable),
    ]
    if spec.autoscaling.enabled:
        objects.append(autoscaler(pipeline, COMPONENT, spec.autoscaling))
    if spec.ingress.enabled:
        routes = [
            ("/v1/sequence", child_name(pipeline, "sequencer"), SEQUENCER_PORT),
            ("/", child_name(pipeline, COMPONENT), spec.service.port),
        ]
        objects.append(ingress(pipeline, COMPONENT, spec.ingress, routes))
    return objects
