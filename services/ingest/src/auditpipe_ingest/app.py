"""The ingest HTTP API: ``POST /v1/events`` (protobuf or JSON)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from auditpipe_common.apikeys import ApiKeys
from auditpipe_common.errors import EventError, TransientError
from auditpipe_common.http import Tenant, health_router
from auditpipe_common.logging import get_logger
from auditpipe_common.redisconn import connect
from auditpipe_common.schema import AuditEvent
from auditpipe_common.timeutil import now_us
from auditpipe_common.validation import Limits, validate_event
from auditpipe_ingest.backpressure import Backpressure
from auditpipe_ingest.decode import BatchError, Decoded, decode_json, decode_protobuf
from auditpipe_ingest.publisher import Publisher
from auditpipe_ingest.receipts import ReceiptSigner
from auditpipe_ingest.results import Verdicts
from auditpipe_ingest.settings import IngestSettings

log = get_logger(__name__)

PROTOBUF = "application/x-protobuf"


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BatchError(413, f"batch of {declared} bytes exceeds the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BatchError(413, f"batch exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def judge(
    decoded: list[Decoded], tenant: str, limits: Limits, skew_us: int
) -> tuple[Verdicts, list[AuditEvent]]:
    """Validate every event; returns the verdicts and the events to queue.

    Accepted events get ``received_at`` and, when the client's time is more than
    ``skew_us`` away from it, ``clock_skewed``.
    """
    verdicts, keep, seen = Verdicts(), [], set()
    received = now_us()
    for item in decoded:
        ev = item.event
        if ev is None:
            assert item.error is not None
            verdicts.reject(item.index, item.key, item.error)
            continue
        try:
            validate_event(ev, tenant, limits, item.size)
        except EventError as err:
            verdicts.reject(item.index, ev.idempotency_key, err)
            continue
        if ev.idempotency_key in seen:
            verdicts.duplicate(item.index, ev)
            continue
        seen.add(ev.idempotency_key)
        ev.received_at = received
        ev.clock_skewed = abs(received - ev.occurred_at) > skew_us
        keep.append(ev)
        verdicts.accept(item.index, ev)
    return verdicts, keep


def answer(verdicts: Verdicts, want_protobuf: bool) -> Response:
    """200 if anything was accepted (or only duplicates), 422 if all were rejected."""
    r = verdicts.result
    status = 422 if r.rejected and not (r.accepted or r.duplicates) else 200
    if want_protobuf:
        return Response(r.SerializeToString(), status_code=status, media_type=PROTOBUF)
    return JSONResponse(verdicts.to_json(), status_code=status)


def create_app(settings: IngestSettings) -> FastAPI:
    """Build the ingest app; Redis is connected in the lifespan."""
    limits = settings.limits()
    receipts = (
        ReceiptSigner(settings.receipt_key_file, settings.log_deployment)
        if settings.receipt_key_file
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = connect(settings.redis_url)
        app.state.redis = redis
        app.state.api_keys = ApiKeys(redis, settings.key_prefix)
        app.state.publisher = Publisher(
            redis,
            settings.key_prefix,
            settings.stream_shards,
            settings.min_replica_acks,
            settings.replica_ack_timeout_ms,
        )
        app.state.backpressure = Backpressure(
            redis,
            settings.key_prefix,
            settings.stream_shards,
            max_memory_ratio=settings.max_redis_memory_ratio,
            max_backlog=settings.max_backlog_batches,
            interval=settings.backpressure_interval_s,
        )
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(title="auditpipe ingest", version="1", lifespan=lifespan)

    async def ready() -> bool:
        try:
            return bool(await app.state.redis.ping())
        except Exception:
            return False

    app.include_router(health_router(ready))

    @app.post("/v1/events")
    async def ingest(request: Request, tenant: Tenant) -> Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        accept = request.headers.get("accept", "")
        try:
            body = await read_body(request, limits.max_batch_bytes)
            if ctype == PROTOBUF:
                decoded = decode_protobuf(body)
            elif ctype in ("application/json", ""):
                decoded = decode_json(body)
            else:
                raise BatchError(415, f"unsupported content type {ctype!r}; use JSON or {PROTOBUF}")
            if not decoded:
                raise BatchError(400, "empty batch")
            if len(decoded) > limits.max_batch_events:
                raise BatchError(
                    413, f"{len(decoded)} events exceed the limit of {limits.max_batch_events}"
                )
        except BatchError as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        pressure = await request.app.state.backpressure.check()
        if pressure.reason:
            return JSONResponse(
                {"error": f"{pressure.reason}, retry later"},
                status_code=429,
                headers={"Retry-After": str(pressure.retry_after_s)},
            )
        verdicts, keep = judge(decoded, tenant, limits, settings.max_clock_skew_s * 1_000_000)
        try:
            async with asyncio.timeout(settings.publish_timeout_s):
                await request.app.state.publisher.publish(keep)
        except (TransientError, TimeoutError) as exc:
            log.warning(
                "queueing failed", tenant=tenant, events=len(keep), error=str(exc) or "timed out"
            )
            return JSONResponse(
                {"error": "event queue unavailable, retry later"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        receipt = receipts.sign(tenant, keep) if receipts else None
        if receipt:
            verdicts.attach(receipt)
        r = verdicts.result
        log.info(
            "batch",
            tenant=tenant,
            accepted=r.accepted,
            rejected=r.rejected,
            duplicates=r.duplicates,
        )
        want_pb = PROTOBUF in accept or (ctype == PROTOBUF and "json" not in accept)
        return answer(verdicts, want_pb)

    return app
