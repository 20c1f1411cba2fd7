"""Settings ConfigMap, the generated credentials Secret, and connection env for the services.

Secrets are referenced by name and key only: no builder in this package ever
puts a password or API key into a manifest except :func:`credentials_secret`,
whose output the handlers create once and never log.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from auditpipe_operator.api.pipeline import Pipeline
from auditpipe_operator.resources.meta import (
    Manifest,
    child_name,
    content_hash,
    manifest,
    metadata,
)
from auditpipe_operator.resources.pods import env, secret_env

KEY_PREFIX = "auditpipe"
API_KEY = "api-key"
TENANT_KEY = "tenant"
REDIS_PASSWORD_KEY = "redis-password"  # noqa: S105 - the name of a Secret key, not a password
CLICKHOUSE_PASSWORD_KEY = "clickhouse-password"  # noqa: S105 - same
CLICKHOUSE_USER = "auditpipe"
REDIS_PORT = 6379
CLICKHOUSE_HTTP_PORT = 8123


def settings_name(pipeline: Pipeline) -> str:
    """Name of the settings ConfigMap."""
    return child_name(pipeline, "settings")


def credentials_name(pipeline: Pipeline) -> str:
    """Name of the generated credentials Secret."""
    return child_name(pipeline, "credentials")


def redis_host(pipeline: Pipeline) -> str:
    """The Service that always points at the Redis primary."""
    return child_name(pipeline, "redis")


def settings_data(pipeline: Pipeline) -> dict[str, str]:
    """``AUDITPIPE_*`` settings shared by every auditpipe container."""
    spec = pipeline.spec
    return {
        "AUDITPIPE_LOG_FORMAT": spec.logging.format,
        "AUDITPIPE_LOG_LEVEL": spec.logging.level,
        "AUDITPIPE_STREAM_SHARDS": str(spec.stream_shards),
        "AUDITPIPE_KEY_PREFIX": KEY_PREFIX,
        "AUDITPIPE_HOST": "0.0.0.0",  # noqa: S104 - pods listen on their own address
        "AUDITPIPE_STORE_DATABASE": spec.clickhouse.database,
    }


def settings_configmap(pipeline: Pipeline) -> Manifest:
    """The ConfigMap the auditpipe containers read with ``envFrom``."""
    meta = metadata(pipeline, settings_name(pipeline), "settings")
    return manifest("v1", "ConfigMap", meta, data=settings_data(pipeline))


def settings_hash(pipeline: Pipeline) -> str:
    """Hash of the shared settings: a pod template annotation, so a change rolls the pods."""
    return content_hash(settings_data(pipeline))


def generate_api_key(token: Callable[[int], str] = secrets.token_urlsafe) -> str:
    """A new API key in auditpipe's format (``ap_`` and 256 random bits)."""
    return "ap_" + token(32)


def credentials_secret(
    pipeline: Pipeline, token: Callable[[int], str] = secrets.token_urlsafe
) -> Manifest:
    """The credentials Secret with freshly generated values (create it once, never log it)."""
    meta = metadata(pipeline, credentials_name(pipeline), "credentials")
    data = {
        API_KEY: generate_api_key(token),
        TENANT_KEY: pipeline.spec.bootstrap_tenant,
        REDIS_PASSWORD_KEY: token(24),
        CLICKHOUSE_PASSWORD_KEY: token(24),
    }
    return manifest("v1", "Secret", meta, type="Opaque", stringData=data)


def redis_env(pipeline: Pipeline) -> list[Manifest]:
    """``AUDITPIPE_REDIS_URL`` with the password taken from the Secret at pod start."""
    url = f"redis://:$(REDIS_PASSWORD)@{redis_host(pipeline)}:{REDIS_PORT}/0"
    return [
        secret_env("REDIS_PASSWORD", credentials_name(pipeline), REDIS_PASSWORD_KEY),
        env("AUDITPIPE_REDIS_URL", url),
    ]


def clickhouse_endpoint(pipeline: Pipeline) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of the ClickHouse HTTP interface for the current mode."""
    ch = pipeline.spec.clickhouse
    if ch.mode == "external" and ch.external is not None:
        scheme = "https" if ch.external.secure else "http"
        return scheme, ch.external.host, ch.external.port
    if ch.mode == "altinity":
        return "http", f"clickhouse-{pipeline.name}", CLICKHOUSE_HTTP_PORT
    return "http", child_name(pipeline, "clickhouse"), CLICKHOUSE_HTTP_PORT


def clickhouse_credentials_env(pipeline: Pipeline) -> list[Manifest]:
    """``CLICKHOUSE_USER`` and ``CLICKHOUSE_PASSWORD`` from the right Secret."""
    external = pipeline.spec.clickhouse.external
    if pipeline.spec.clickhouse.mode == "external" and external is not None:
        secret = external.credentials_secret
        return [
            secret_env("CLICKHOUSE_USER", secret, external.username_key),
            secret_env("CLICKHOUSE_PASSWORD", secret, external.password_key),
        ]
    return [
        env("CLICKHOUSE_USER", CLICKHOUSE_USER),
        secret_env("CLICKHOUSE_PASSWORD", credentials_name(pipeline), CLICKHOUSE_PASSWORD_KEY),
    ]


def store_env(pipeline: Pipeline) -> list[Manifest]:
    """``AUDITPIPE_STORE_DSN`` built from the credentials at pod start."""
    scheme, host, port = clickhouse_endpoint(pipeline)
    dsn = f"{scheme}://$(CLICKHOUSE_USER):$(CLICKHOUSE_PASSWORD)@{host}:{port}"
    return [*clickhouse_credentials_env(pipeline), env("AUDITPIPE_STORE_DSN", dsn)]


def settings_env_from(pipeline: Pipeline) -> list[Manifest]:
    """``envFrom`` of the settings ConfigMap."""
    return [{"configMapRef": {"name": settings_name(pipeline)}}]
