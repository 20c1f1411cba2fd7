"""The sequencer's HTTP API: ``POST /v1/sequence``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from auditpipe_common.apikeys import ApiKeys
from auditpipe_common.http import RETRY_LATER, Tenant, health_router
from auditpipe_common.logging import get_logger
from auditpipe_common.redisconn import connect
from auditpipe_sequencer.allocator import Fenced, RangeAllocator
from auditpipe_sequencer.reservations import FileReservations
from auditpipe_sequencer.settings import SequencerSettings

log = get_logger(__name__)


class RangeRequest(BaseModel):
    """Ask for ``count`` numbers strictly greater than ``after``."""

    count: int = Field(ge=1)
    after: int = Field(default=0, ge=0, lt=2**53)


class RangeResponse(BaseModel):
    """An inclusive range of fresh sequence numbers for the key's tenant."""

    tenant: str
    first: int
    last: int


def create_app(settings: SequencerSettings) -> FastAPI:
    """Build the sequencer app; Redis is connected in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = connect(settings.redis_url)
        app.state.api_keys = ApiKeys(redis, settings.key_prefix)
        reservations = FileReservations(settings.reservations_path)
        app.state.allocator = RangeAllocator(
            redis,
            reservations,
            settings.key_prefix,
            settings.reserve_block,
            fencing=settings.fencing,
        )
        try:
            await app.state.allocator.claim()
        except RedisError as exc:  # the first allocation claims it instead
            log.warning("could not claim the sequencer epoch yet", error=str(exc))
        app.state.allocator.start()
        app.state.redis = redis
        try:
            yield
        finally:
            await app.state.allocator.stop()
            await redis.aclose()

    app = FastAPI(title="auditpipe sequencer", version="1", lifespan=lifespan)

    async def ready() -> bool:
        if app.state.allocator.fenced:
            return False
        try:
            return bool(await app.state.redis.ping())
        except Exception:
            return False

    app.include_router(health_router(ready))

    @app.post("/v1/sequence")
    async def sequence(body: RangeRequest, tenant: Tenant, request: Request) -> RangeResponse:
        if body.count > settings.max_range:
            raise HTTPException(413, f"count {body.count} exceeds the limit {settings.max_range}")
        allocator: RangeAllocator = request.app.state.allocator
        try:
            first, last = await allocator.allocate(tenant, body.count, body.after)
        except RedisError:
            raise HTTPException(503, "counter store unavailable", headers=RETRY_LATER) from None
        except Fenced:
            raise HTTPException(503, "replaced by a newer sequencer", headers=RETRY_LATER) from None
        return RangeResponse(tenant=tenant, first=first, last=last)

    return app
