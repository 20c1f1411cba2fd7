"""Operator settings from ``AUDITPIPE_OPERATOR_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from auditpipe_operator.api.constants import FIELD_MANAGER


class OperatorConfig(BaseSettings):
    """How the operator runs. Built once at start-up and passed to the handlers."""

    model_config = SettingsConfigDict(env_prefix="AUDITPIPE_OPERATOR_", extra="ignore")

    field_manager: str = Field(
        default=FIELD_MANAGER, min_length=1, description="Server-side apply field manager."
    )
    resync_seconds: float = Field(
        default=30.0,
        ge=1.0,
        description="Every pipeline is re-applied (drift restored) and its status refreshed "
        "this often, besides reacting to changes at once.",
    )
    retry_seconds: float = Field(
        default=10.0, gt=0, description="Delay before retrying after a transient API error."
    )
    delete_retries: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Attempts at the deletion cleanup before the finalizer is released anyway.",
    )
    namespaces: list[str] = Field(
        default_factory=list,
        description='Namespaces to watch, JSON (["a","b"]); empty: the whole cluster.',
    )
    log_format: Literal["plain", "full", "json"] = Field(default="json", description="Log format.")
    verbose: bool = Field(default=False, description="Debug logging.")
    liveness_port: int | None = Field(
        default=8080, ge=1, le=65535, description="Port of /healthz (None: no endpoint)."
    )
