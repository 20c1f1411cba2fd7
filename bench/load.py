"""Load generator processes: sequence a pre-built batch, POST it, record the ack latency.

The HTTP load comes from several processes (``multiprocessing``), not from
wrk: each request needs a fresh sequence range first, which wrk cannot do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from auditpipe_common.schema import EventBatch
from bench.workload import make_batches


@dataclass
class LoadJob:
    """What one load process sends."""

    ingest_url: str
    sequencer_url: str
    api_key: str
    tenant: str
    batches: int
    batch_size: int
    rate: float = 0.0  # batches/s; 0 means as fast as possible


def run_job(job: LoadJob, start_at: float) -> tuple[float, float, list[float]]:
    """Send every batch from wall-clock time ``start_at`` on (events are built before).

    Returns (first send, last acknowledgement) wall-clock times and the ingest
    acknowledgement latency of every batch, in seconds.
    """
    batches = make_batches(job.tenant, job.batches, job.batch_size)
    headers = {"authorization": f"Bearer {job.api_key}"}
    latencies = []
    with httpx.Client(headers=headers, timeout=60) as http:
        time.sleep(max(start_at - time.time(), 0))
        began = time.time()
        start = time.perf_counter()
        for i, batch in enumerate(batches):
            if job.rate:
                delay = start + i / job.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            first = http.post(
                f"{job.sequencer_url}/v1/sequence", json={"count": len(batch.events)}
            ).json()["first"]
            for n, ev in enumerate(batch.events):
                ev.seq = first + n
            body = EventBatch.SerializeToString(batch)
            t = time.perf_counter()
            r = http.post(
                f"{job.ingest_url}/v1/events",
                content=body,
                headers={"content-type": "application/x-protobuf"},
            )
            latencies.append(time.perf_counter() - t)
            r.raise_for_status()
    return began, time.time(), latencies
