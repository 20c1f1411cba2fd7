"""Settings shared by the services, read from ``AUDITPIPE_*`` environment variables.

Each deployable builds its own settings class from these pieces at start-up
and passes it on explicitly; bad values fail fast with pydantic's message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from auditpipe_common.tlog import Verifier, log_origin, parse_public_key, verifiers_for


class BaseServiceSettings(BaseSettings):
    """Common to every service: logging and the Redis connection."""

    model_config = SettingsConfigDict(env_prefix="AUDITPIPE_", extra="ignore")

    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    redis_url: SecretStr = Field(
        default=SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL; may carry a password, so it is never logged.",
    )
    stream_shards: int = Field(default=4, ge=1, le=1024, description="Number of event streams.")
    key_prefix: str = Field(default="auditpipe", description="Prefix of every Redis key.")


class HttpSettings(BaseSettings):
    """Where an HTTP service listens."""

    model_config = SettingsConfigDict(env_prefix="AUDITPIPE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)


class StoreSettings(BaseSettings):
    """The ClickHouse store: ``chdb://PATH`` (embedded) or ``http(s)://...`` (server)."""

    model_config = SettingsConfigDict(env_prefix="AUDITPIPE_", extra="ignore")

    store_dsn: SecretStr = Field(
        default=SecretStr("chdb://./.auditpipe/chdb"),
        description="chdb://PATH for embedded chDB, or http(s)://user:pass@host:port",
    )
    store_database: str = Field(default="auditpipe", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    retention_days: int = Field(
        default=400, ge=1, le=36500, description="Default retention, counted from received_at."
    )


class LogSettings(BaseSettings):
    """The verifiable logs: the deployment name in every origin, the keys that check them."""

    model_config = SettingsConfigDict(env_prefix="AUDITPIPE_", extra="ignore")

    log_deployment: str = Field(
        default="local",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Deployment name in every log origin: auditpipe/<deployment>/<tenant>.",
    )
    log_public_keys: list[str] = Field(
        default_factory=list,
        description="Public keys that sign checkpoints (JSON list; verifier key strings or "
        "base64), trusted by verify; old and new together during a rotation.",
    )

    def log_origin(self, tenant: str) -> str:
        """The origin (name) of ``tenant``'s log."""
        return log_origin(self.log_deployment, tenant)

    def log_verifiers(self, tenant: str) -> list[Verifier]:
        """The trusted verifiers of ``tenant``'s log."""
        keys = [parse_public_key(text) for text in self.log_public_keys]
        return verifiers_for(self.log_origin(tenant), keys)
