"""The query HTTP API: ``GET /v1/events`` (paged), ``GET /v1/export`` (streamed), ``/v1/log/*``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from auditpipe_common.apikeys import ApiKeys
from auditpipe_common.errors import AuditpipeError
from auditpipe_common.eventjson import event_to_json
from auditpipe_common.http import Tenant, health_router
from auditpipe_common.redisconn import connect
from auditpipe_common.store import EventFilter, Store, open_store
from auditpipe_common.timeutil import TimestampError, parse_rfc3339
from auditpipe_query.cursor import CursorError, decode_cursor, encode_cursor
from auditpipe_query.export import csv_lines, jsonl_lines
from auditpipe_query.logroutes import log_router
from auditpipe_query.settings import QuerySettings


def _time(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        return parse_rfc3339(value)
    except TimestampError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def event_filter(
    tenant: Tenant,
    actor: str | None = None,
    action: str | None = None,
    event: str | None = None,
    outcome: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    since: Annotated[str | None, Query(description="RFC 3339 or epoch µs, inclusive")] = None,
    until: Annotated[str | None, Query(description="RFC 3339 or epoch µs, exclusive")] = None,
    time_field: Literal["occurred_at", "received_at"] = "occurred_at",
    seq_from: Annotated[int | None, Query(ge=0)] = None,
    seq_to: Annotated[int | None, Query(ge=0)] = None,
) -> EventFilter:
    """FastAPI dependency: the filter described by the query string, for the key's tenant."""
    return EventFilter(
        tenant=tenant,
        actor=actor,
        action=action,
        event=event,
        outcome=outcome,
        resource_type=resource_type,
        resource_id=resource_id,
        since_us=_time(since, "since"),
        until_us=_time(until, "until"),
        time_field=time_field,
        seq_from=seq_from,
        seq_to=seq_to,
    )


Filter = Annotated[EventFilter, Depends(event_filter)]


def create_app(settings: QuerySettings, store: Store | None = None) -> FastAPI:
    """Build the query app. ``store`` lets the local stack share one chDB engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = connect(settings.redis_url)
        app.state.redis = redis
        app.state.api_keys = ApiKeys(redis, settings.key_prefix)
        app.state.store = store or await asyncio.to_thread(open_store, settings)
        try:
            yield
        finally:
            await redis.aclose()
            if store is None:
                app.state.store.close()

    app = FastAPI(title="auditpipe query", version="1", lifespan=lifespan)

    async def ready() -> bool:
        try:
            return bool(await app.state.redis.ping())
        except Exception:
            return False

    app.include_router(health_router(ready))
    app.include_router(log_router(settings))

    @app.exception_handler(AuditpipeError)
    async def store_error(_: Request, exc: AuditpipeError) -> Any:
        raise HTTPException(503, f"store unavailable: {exc}", headers={"Retry-After": "1"})

    @app.get("/v1/events")
    async def list_events(
        request: Request,
        flt: Filter,
        limit: Annotated[int, Query(ge=1)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        after = None
        if cursor:
            try:
                after = decode_cursor(flt, cursor)
            except CursorError as exc:
                raise HTTPException(400, str(exc)) from None
        limit = min(limit, settings.max_page)
        st: Store = request.app.state.store
        events = await asyncio.to_thread(st.select, flt, after_seq=after, limit=limit)
        nxt = encode_cursor(flt, events[-1].seq) if len(events) == limit else None
        return {"events": [event_to_json(e) for e in events], "next_cursor": nxt}

    @app.get("/v1/stats")
    async def stats(request: Request, flt: Filter) -> dict[str, int]:
        st: Store = request.app.state.store
        return await asyncio.to_thread(st.stats, flt)

    @app.get("/v1/export")
    async def export(
        request: Request, flt: Filter, format: Literal["jsonl", "csv"] = "jsonl"
    ) -> StreamingResponse:
        st: Store = request.app.state.store
        render = jsonl_lines if format == "jsonl" else csv_lines
        media = "application/x-ndjson" if format == "jsonl" else "text/csv"

        def lines() -> Iterator[str]:
            return render(st.scan(flt, page=settings.export_page))

        return StreamingResponse(lines(), media_type=media)

    return app
