"""The log API: checkpoints, proofs and verification of the caller's tenant log.

* ``GET /v1/log/checkpoint``: the newest signed checkpoint (the note, text);
* ``GET /v1/log/checkpoints``: every checkpoint (size and note);
* ``GET /v1/log/proof?key=K``: the inclusion bundle of the event with idempotency key K;
* ``GET /v1/log/consistency?old=M[&new=N]``: the consistency bundle between two checkpoints;
* ``GET /v1/log/verify``: recompute the log from the store and check it (a report).

Bundles are the JSON formats of docs/verification.md: a third party checks them
with the checkpoint's public key alone (``python -m auditpipe_common.tlog``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from auditpipe_common.http import Tenant
from auditpipe_common.settings import LogSettings
from auditpipe_common.store.logaudit import audit_stored_log
from auditpipe_common.store.logproofs import (
    ProofUnavailable,
    consistency_bundle,
    inclusion_bundle,
)
from auditpipe_common.store.logtables import LogTables
from auditpipe_common.timeutil import now_us


def log_router(settings: LogSettings) -> APIRouter:
    """Routes over the store in ``request.app.state.store``."""
    router = APIRouter(prefix="/v1/log")

    def tables(request: Request) -> LogTables:
        return LogTables(request.app.state.store)

    async def run(fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except ProofUnavailable as exc:
            raise HTTPException(404, str(exc)) from None

    @router.get("/checkpoint", response_class=PlainTextResponse)
    async def latest_checkpoint(request: Request, tenant: Tenant) -> str:
        found = await run(tables(request).latest_checkpoint, tenant)
        if found is None:
            raise HTTPException(404, "no checkpoint yet")
        return str(found.note)

    @router.get("/checkpoints")
    async def checkpoints(request: Request, tenant: Tenant) -> dict[str, Any]:
        found = await run(tables(request).checkpoints, tenant)
        return {"origin": settings.log_origin(tenant),
                "checkpoints": [{"size": c.size, "note": c.note} for c in found]}  # fmt: skip

    @router.get("/proof")
    async def proof(
        request: Request, tenant: Tenant, key: Annotated[str, Query(min_length=1)]
    ) -> dict[str, Any]:
        bundle = await run(inclusion_bundle, tables(request), tenant, key)
        return bundle.to_json()  # type: ignore[no-any-return]

    @router.get("/consistency")
    async def consistency(
        request: Request,
        tenant: Tenant,
        old: Annotated[int, Query(ge=1)],
        new: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        bundle = await run(consistency_bundle, tables(request), tenant, old, new)
        return bundle.to_json()  # type: ignore[no-any-return]

    @router.get("/verify")
    async def verify(request: Request, tenant: Tenant) -> dict[str, Any]:
        if not settings.log_public_keys:
            raise HTTPException(503, "no log public keys configured (AUDITPIPE_LOG_PUBLIC_KEYS)")
        report = await run(
            audit_stored_log, tables(request), tenant, settings.log_origin(tenant),
            settings.log_verifiers(tenant), now_us(),
        )  # fmt: skip
        return report.to_json()  # type: ignore[no-any-return]

    return router
