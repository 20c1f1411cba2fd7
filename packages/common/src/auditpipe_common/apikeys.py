"""Tenant API keys, stored hashed in Redis.

A key is ``ap_`` followed by 256 random bits (URL-safe base64). Only its
SHA-256 is stored, in the hash ``{prefix}:apikeys`` (field: hex digest,
value: JSON with tenant, name and creation time). Because the keys are
random and long, a fast hash is enough: there is nothing to brute-force.
Lookups are cached in the process for ``cache_seconds`` so the hot path does
not pay a Redis round trip per request; revocation therefore takes effect
within that time.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from auditpipe_common.validation import valid_tenant

KEY_PREFIX = "ap_"


@dataclass(frozen=True)
class KeyInfo:
    """What a key grants: one tenant."""

    tenant: str
    name: str
    created_at: float


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    """A new random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeys:
    """Create, look up and revoke API keys."""

    def __init__(self, redis: Redis, prefix: str = "auditpipe", cache_seconds: float = 10.0):
        self._redis = redis
        self._hash = f"{prefix}:apikeys"
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}

    async def create(self, tenant: str, name: str = "", key: str | None = None) -> str:
        """Create a key for ``tenant`` and return it (shown once, never stored)."""
        if not valid_tenant(tenant):
            raise ValueError(f"invalid tenant name {tenant!r}: use [a-z0-9][a-z0-9_.-]{{0,62}}")
        key = key or generate_key()
        info = {"tenant": tenant, "name": name, "created_at": time.time()}
        await self._redis.hset(self._hash, hash_key(key), json.dumps(info))
        return key

    async def revoke(self, key: str) -> bool:
        """Remove a key; True if it existed."""
        self._cache.pop(hash_key(key), None)
        return bool(await self._redis.hdel(self._hash, hash_key(key)))

    async def lookup(self, key: str) -> KeyInfo | None:
        """The tenant a key grants, or None for an unknown key."""
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        raw = await self._redis.hget(self._hash, digest)
        info = None
        if raw is not None:
            data = json.loads(raw)
            info = KeyInfo(data["tenant"], data.get("name", ""), data.get("created_at", 0.0))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._cache_seconds, info)
        return info
