"""HTTP pieces every auditpipe API shares: tenant authentication, health
endpoints, and running an app under uvicorn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.exceptions import RedisError

from auditpipe_common.apikeys import ApiKeys

_bearer = HTTPBearer(auto_error=False)
RETRY_LATER = {"Retry-After": "1"}


async def tenant_of(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """FastAPI dependency: the tenant of the request's Bearer API key (401 if none)."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys: ApiKeys = request.app.state.api_keys
    try:
        info = await keys.lookup(credentials.credentials)
    except RedisError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "key store unavailable", headers=RETRY_LATER
        ) from None
    if info is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return info.tenant


Tenant = Annotated[str, Depends(tenant_of)]


def health_router(ready: Callable[[], Awaitable[bool]]) -> APIRouter:
    """``/livez`` (the process serves) and ``/readyz`` (its dependencies answer)."""
    router = APIRouter(tags=["health"])

    @router.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> dict[str, str]:
        if not await ready():
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "not ready")
        return {"status": "ready"}

    return router


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run ``app`` until SIGINT/SIGTERM, with uvicorn's own logging quietened."""
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
