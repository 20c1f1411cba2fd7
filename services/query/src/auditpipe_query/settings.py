"""Query API settings (``AUDITPIPE_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from auditpipe_common.settings import BaseServiceSettings, HttpSettings, LogSettings, StoreSettings


class QuerySettings(BaseServiceSettings, HttpSettings, StoreSettings, LogSettings):
    """Settings of the query API."""

    port: int = Field(default=8702, ge=1, le=65535)
    max_page: int = Field(default=1000, ge=1, le=100_000)
    export_page: int = Field(default=5000, ge=100)
