"""The one way auditpipe services connect to Redis.

Connections retry briefly on connection errors and time-outs (a Redis
restart or failover drops every pooled connection at once), with capped
exponential backoff; anything longer surfaces as an error the caller turns
into a 503 / a retry of its own.
"""

from __future__ import annotations

from pydantic import SecretStr
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def connect(url: SecretStr | str, retries: int = 6) -> Redis:
    """An asyncio Redis client for ``url`` that rides out short outages."""
    raw = url.get_secret_value() if isinstance(url, SecretStr) else url
    return Redis.from_url(
        raw,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )
