"""``make bench``: end-to-end throughput, ack latency and sequencer batching,
each beside a ceiling measured in the same run on the same machine.

    python -m bench.pipeline [--events 200000] [--procs 3] [--batch 1000]

Prints a table and writes ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from redis.asyncio import Redis

from auditpipe_cli.remote import QueryClient, create_key, wait_drained
from auditpipe_cli.stack import LocalStack, StackConfig, free_port
from auditpipe_common.settings import StoreSettings
from auditpipe_common.store import open_store
from auditpipe_sequencer.allocator import RangeAllocator
from auditpipe_sequencer.reservations import FileReservations
from bench import ceilings
from bench.load import LoadJob, run_job
from bench.workload import make_batches


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def drive(
    stack: LocalStack,
    key: str,
    tenant: str,
    events: int,
    procs: int,
    batch: int,
    rate_per_proc: float = 0.0,
) -> tuple[float, float, list[float]]:
    """Run the load; returns (ingest events/s, end-to-end events/s, latencies)."""
    per_proc = events // procs // batch
    jobs = [
        LoadJob(
            stack.config.url("ingest"),
            stack.config.url("sequencer"),
            key,
            tenant,
            per_proc,
            batch,
            rate_per_proc,
        )
        for _ in range(procs)
    ]
    sent = per_proc * batch * procs
    start_at = time.time() + 2 + per_proc * batch / 40_000  # after every process built its events
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        results = pool.starmap(run_job, [(job, start_at) for job in jobs])
    began = min(r[0] for r in results)
    acked = max(r[1] for r in results)
    wait_drained(stack.config.redis_url, stack.config.shards, timeout=600)
    stored = time.time()
    latencies = [x for r in results for x in r[2]]
    return sent / (acked - began), sent / (stored - began), latencies


def sequencer_http(url: str, key: str, seconds: float = 3.0, count: int = 500) -> float:
    """Numbers/s through the HTTP API when each call takes a batch's worth (as the SDK does)."""
    handed = 0
    with httpx.Client(headers={"authorization": f"Bearer {key}"}) as http:
        end = time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            r = http.post(f"{url}/v1/sequence", json={"count": count}).json()
            handed += r["last"] - r["first"] + 1
        return handed / (time.perf_counter() - start)


async def sequencer_coalesced(redis_url: str, tmp: Path, callers: int = 2000) -> float:
    """Numbers/s the allocator hands out to many concurrent single-number callers."""
    redis = Redis.from_url(redis_url)
    alloc = RangeAllocator(redis, FileReservations(tmp / "reservations.json"), "bench")
    alloc.start()
    start = time.perf_counter()
    for _ in range(5):
        await asyncio.gather(*(alloc.allocate("t", 1) for _ in range(callers)))
    elapsed = time.perf_counter() - start
    await alloc.stop()
    await redis.aclose()
    return 5 * callers / elapsed


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stack_config(data_dir: Path, log_enabled: bool = True, receipts: bool = True) -> StackConfig:
    """A benchmark stack on free ports, with or without the log and the receipts."""
    return StackConfig(
        data_dir=data_dir,
        ingest_port=free_port(),
        sequencer_port=free_port(),
        query_port=free_port(),
        redis_port=free_port(),
        log_level="warning",
        batch_rows=50_000,
        log_enabled=log_enabled,
        receipts=receipts,
    )


def peak(tmp: Path, args: argparse.Namespace, log_enabled: bool, receipts: bool) -> float:
    """End-to-end events/s of the same load on a stack with or without log and receipts."""
    name = f"log{int(log_enabled)}-receipts{int(receipts)}"
    with LocalStack(stack_config(tmp / name, log_enabled, receipts)) as stack:
        key = create_key(stack.config.redis_url, "bench")
        _, e2e, _ = drive(stack, key, "bench", args.events, args.procs, args.batch)
        return e2e


def main() -> None:
    """Run every measurement and print the report."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
        "args": vars(args),
    }
    with tempfile.TemporaryDirectory() as tmp:
        config = stack_config(Path(tmp) / "stack")
        with LocalStack(config) as stack:
            key = create_key(config.redis_url, "bench")
            batches = make_batches("bench", args.events // args.batch, args.batch)
            report["ceiling_redis_xadd_events_per_s"] = ceilings.redis_xadd(
                config.redis_url, batches
            )
            report["ceiling_incr_single_per_s"] = ceilings.incr_single(config.redis_url)
            store = open_store(
                StoreSettings(
                    store_dsn=SecretStr(f"chdb://{Path(tmp) / 'ceiling'}"), store_database="ceiling"
                )
            )
            report["ceiling_chdb_insert_rows_per_s"] = ceilings.chdb_insert(store, batches, 50_000)
            store.close()
            del batches
            report["sequencer_coalesced_per_s"] = asyncio.run(
                sequencer_coalesced(config.redis_url, Path(tmp))
            )
            report["sequencer_http_batch500_per_s"] = sequencer_http(config.url("sequencer"), key)

            ingest, e2e, lat = drive(stack, key, "bench", args.events, args.procs, args.batch)
            report.update(
                ingest_events_per_s=ingest,
                e2e_events_per_s=e2e,
                ack_p50_ms_peak=pct(lat, 50),
                ack_p99_ms_peak=pct(lat, 99),
            )
            half_rate = ingest / 2 / args.batch / args.procs
            _, _, lat_half = drive(
                stack, key, "bench", args.events // 2, args.procs, args.batch, half_rate
            )
            report.update(ack_p50_ms_half=pct(lat_half, 50), ack_p99_ms_half=pct(lat_half, 99))
            with QueryClient(config.url("query"), key) as q:
                stats = q.stats()
            report["stored"] = stats
            report["rss_mb"] = {n: rss_mb(p.pid) for n, p in stack.procs.items()}
        report["e2e_events_per_s_log_without_receipts"] = peak(Path(tmp), args, True, False)
        report["e2e_events_per_s_without_log"] = peak(Path(tmp), args, False, False)
    slower = min(
        report["ceiling_redis_xadd_events_per_s"], report["ceiling_chdb_insert_rows_per_s"]
    )
    report["ratio_e2e_to_slower_ceiling"] = report["e2e_events_per_s"] / slower
    without = report["e2e_events_per_s_without_log"]
    report["ratio_log_to_without"] = report["e2e_events_per_s_log_without_receipts"] / without
    report["ratio_log_and_receipts_to_without"] = report["e2e_events_per_s"] / without
    report["ratio_sequencer_to_single_incr"] = (
        report["sequencer_http_batch500_per_s"] / report["ceiling_incr_single_per_s"]
    )
    report["ratio_coalesced_to_single_incr"] = (
        report["sequencer_coalesced_per_s"] / report["ceiling_incr_single_per_s"]
    )
    print_report(report)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))


def print_report(r: dict[str, Any]) -> None:
    """Human-readable table."""
    rows = [
        ("ceiling: raw Redis XADD (packed batches)", r["ceiling_redis_xadd_events_per_s"], "ev/s"),
        (
            "ceiling: raw chDB insert (50k-row blocks)",
            r["ceiling_chdb_insert_rows_per_s"],
            "rows/s",
        ),
        ("ceiling: single INCR round trips", r["ceiling_incr_single_per_s"], "numbers/s"),
        ("ingest acknowledged (peak)", r["ingest_events_per_s"], "ev/s"),
        ("end to end, log and receipts (peak)", r["e2e_events_per_s"], "ev/s"),
        (
            "end to end, log but no receipts (peak)",
            r["e2e_events_per_s_log_without_receipts"],
            "ev/s",
        ),
        ("end to end, neither log nor receipts (peak)", r["e2e_events_per_s_without_log"], "ev/s"),
        ("sequencer HTTP, 500 numbers per call", r["sequencer_http_batch500_per_s"], "numbers/s"),
        ("sequencer, coalesced single-number calls", r["sequencer_coalesced_per_s"], "numbers/s"),
    ]
    for name, value, unit in rows:
        print(f"{name:<44}{value:>14,.0f} {unit}")
    for load in ("peak", "half"):
        p50, p99 = r[f"ack_p50_ms_{load}"], r[f"ack_p99_ms_{load}"]
        print(f"{'ack latency at ' + load + ' load, p50 / p99':<44}{p50:>10.1f} / {p99:.1f} ms")
    ratios = [
        ("ratio: end to end / slower ceiling", r["ratio_e2e_to_slower_ceiling"], "(target >= 0.5)"),
        ("ratio: log / neither", r["ratio_log_to_without"], "(target >= 0.8)"),
        ("ratio: log and receipts / neither", r["ratio_log_and_receipts_to_without"], ""),
        ("ratio: sequencer / single INCR", r["ratio_sequencer_to_single_incr"], "(target >= 10)"),
        ("ratio: coalesced singles / single INCR", r["ratio_coalesced_to_single_incr"], ""),
    ]
    for name, value, note in ratios:
        print(f"{name:<44}{value:>14.2f} {note}")
    print(f"stored: {r['stored']}   rss MiB: {r['rss_mb']}")


if __name__ == "__main__":
    main()
