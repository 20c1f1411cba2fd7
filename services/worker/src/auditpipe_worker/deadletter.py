"""The dead-letter stream: entries and rows that can never be stored, with a reason."""

from __future__ import annotations

from redis.asyncio import Redis

from auditpipe_common.logging import get_logger
from auditpipe_common.streams import deadletter_key

log = get_logger(__name__)


class DeadLetters:
    """Records what the worker gave up on, so an operator can inspect and replay it."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = deadletter_key(prefix)
        self.count = 0

    async def put(self, stream: str, entry_id: str, reason: str, payload: bytes) -> None:
        """Add one dead letter: where it came from, why, and the bytes."""
        fields: dict[str | bytes, str | bytes] = {
            "stream": stream,
            "entry": entry_id,
            "reason": reason[:2000],
            "payload": payload,
        }
        await self._redis.xadd(self._key, fields)  # type: ignore[arg-type]
        self.count += 1
        log.warning("dead letter", stream=stream, entry=entry_id, reason=reason[:200])
