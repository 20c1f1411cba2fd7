"""Soak run: steady SDK load with the worker frozen for a while; memory must stay bounded.

Phases (each a third of ``--seconds``): normal load; the worker frozen with
``SIGSTOP`` (the streams fill until ingest answers 429 and the SDK buffers
fill and block ``log()``, which raises BufferFullError after its block
timeout); the worker resumed (the backlog drains). Every
second it samples the resident memory of each process and Redis'
``used_memory``. The report gives, per process, the memory after warm-up,
at its peak and at the end, and the peak over warm-up ratio; and checks
that every acknowledged event was stored exactly once.

Run: ``uv run python -m bench.soak --seconds 90`` (``make soak``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from auditpipe import AuditClient, BufferFullError, ClientConfig
from auditpipe_cli.remote import QueryClient, create_key, wait_drained
from auditpipe_cli.stack import LocalStack, StackConfig, free_port
from bench.pipeline import rss_mb

PAYLOAD = {"note": "x" * 512, "tags": list(range(20))}


class Clients:
    """SDK clients in threads, logging as fast as their bounded buffers let them."""

    def __init__(self, stack: LocalStack, key: str, count: int) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.refused = 0
        self.clients = [
            AuditClient(
                ClientConfig(
                    api_key=key,
                    ingest_url=stack.config.url("ingest"),
                    sequencer_url=stack.config.url("sequencer"),
                    batch_size=200,
                    max_buffer=5_000,
                    retry_deadline=600,
                    backoff_max=2.0,
                )
            )
            for _ in range(count)
        ]
        self._threads = [threading.Thread(target=self._run, args=(c,)) for c in self.clients]

    def _run(self, client: AuditClient) -> None:
        n = 0
        while not self._stop.is_set():
            try:
                client.log("soak.write", actor=f"user-{n % 97}", attributes={**PAYLOAD, "n": n})
            except BufferFullError:  # blocked longer than block_timeout: the caller is told
                with self._lock:
                    self.refused += 1
            n += 1

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> dict[str, int]:
        """Stop logging, flush and close every client; returns summed statistics."""
        self._stop.set()
        for t in self._threads:
            t.join()
        totals = {"logged": 0, "acknowledged": 0, "failed": 0, "retries": 0}
        for c in self.clients:
            c.close()
            for name in totals:
                totals[name] += getattr(c.stats, name)
        totals["refused by log()"] = self.refused
        return totals


def main() -> None:
    """Run the soak and print the memory table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=90)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--redis-maxmemory-mb", type=int, default=64)
    args = ap.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    phase = args.seconds / 3
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig(
            data_dir=Path(tmp) / "stack",
            ingest_port=free_port(),
            sequencer_port=free_port(),
            query_port=free_port(),
            redis_port=free_port(),
            log_level="warning",
        )
        with LocalStack(config) as stack:
            r = redis.Redis.from_url(config.redis_url)
            r.config_set("maxmemory", f"{args.redis_maxmemory_mb}mb")
            key = create_key(config.redis_url, "soak")
            clients = Clients(stack, key, args.clients)
            pids = {name: p.pid for name, p in stack.procs.items()} | {"sdk (bench)": os.getpid()}
            samples: list[dict[str, float]] = []
            clients.start()
            began = time.monotonic()
            frozen = False
            while (elapsed := time.monotonic() - began) < args.seconds:
                if not frozen and phase <= elapsed < 2 * phase:
                    stack.procs["node"].send_signal(signal.SIGSTOP)
                    frozen = True
                elif frozen and elapsed >= 2 * phase:
                    stack.procs["node"].send_signal(signal.SIGCONT)
                    frozen = False
                sample = {name: rss_mb(pid) for name, pid in pids.items()}
                sample["redis used_memory"] = int(r.info("memory")["used_memory"]) / 2**20
                samples.append(sample)
                time.sleep(1)
            stack.procs["node"].send_signal(signal.SIGCONT)
            totals = clients.stop()
            assert wait_drained(config.redis_url, config.shards, timeout=600)
            with QueryClient(config.url("query"), key) as q:
                stored = q.stats()
            r.close()
    report: dict[str, Any] = {
        "args": vars(args),
        "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
        "clients": totals,
        "stored": stored,
        "memory_mib": summarize(samples),
    }
    print_report(report)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(report, indent=2))


def summarize(samples: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per process: memory after warm-up (5th sample), peak, end, and peak / warm-up."""
    warm = samples[min(5, len(samples) - 1)]
    out = {}
    for name in samples[0]:
        peak = max(s[name] for s in samples)
        out[name] = {
            "warm": warm[name],
            "peak": peak,
            "end": samples[-1][name],
            "peak_over_warm": peak / warm[name] if warm[name] else 0.0,
        }
    return out


def print_report(r: dict[str, Any]) -> None:
    """Human-readable table."""
    c, s = r["clients"], r["stored"]
    print(
        f"logged {c['logged']:,}  acknowledged {c['acknowledged']:,}  failed {c['failed']:,}  "
        f"retries {c['retries']:,}  refused by log() {c['refused by log()']:,}\n"
        f"stored {s['count']:,} (distinct keys {s['distinct_keys']:,})"
    )
    print(f"{'process':<22}{'warm MiB':>10}{'peak MiB':>10}{'end MiB':>10}{'peak/warm':>11}")
    for name, m in r["memory_mib"].items():
        print(
            f"{name:<22}{m['warm']:>10.1f}{m['peak']:>10.1f}{m['end']:>10.1f}"
            f"{m['peak_over_warm']:>11.2f}"
        )
    ok = s["count"] == s["distinct_keys"] == c["acknowledged"]
    print("every acknowledged event stored exactly once" if ok else "MISMATCH: see counts above")


if __name__ == "__main__":
    main()
