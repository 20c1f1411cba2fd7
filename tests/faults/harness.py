"""Steady SDK load across tenants and clients, and the exactly-once audit afterwards."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from auditpipe import AuditClient, BatchReport, ClientConfig
from auditpipe_cli.remote import QueryClient, create_key, wait_drained
from auditpipe_cli.stack import LocalStack, StackConfig, free_port


def make_stack(root: Path, appendfsync: str = "everysec") -> LocalStack:
    """A private stack for one scenario."""
    config = StackConfig(
        data_dir=root / "stack",
        ingest_port=free_port(),
        sequencer_port=free_port(),
        query_port=free_port(),
        redis_port=free_port(),
        shards=2,
        appendfsync=appendfsync,
        log_level="warning",
        batch_rows=2000,
    )
    return LocalStack(config)


@dataclass
class ClientLog:
    """What one SDK client did and was told."""

    tenant: str
    logged: list[str] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)
    acked_at: dict[str, float] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_report(self, report: BatchReport) -> None:
        with self.lock:
            self.acked.update(report.acknowledged)
            now = time.monotonic()
            self.acked_at.update((key, now) for key, _ in report.acknowledged)
            self.failed.update(report.failed)
            self.failed.update(r.idempotency_key for r in report.rejected)


class Load:
    """Several clients per tenant logging steadily from threads until stopped."""

    def __init__(self, stack: LocalStack, tenants: int = 3, clients_per_tenant: int = 2) -> None:
        self.stack = stack
        self.keys = {f"t{i}": create_key(stack.config.redis_url, f"t{i}") for i in range(tenants)}
        self.logs = [ClientLog(t) for t in self.keys for _ in range(clients_per_tenant)]
        self._stop = threading.Event()
        self._flush_timeout = 180.0
        self._threads: list[threading.Thread] = []

    def _client(self, log: ClientLog) -> AuditClient:
        config = ClientConfig(
            api_key=self.keys[log.tenant],
            ingest_url=self.stack.config.url("ingest"),
            sequencer_url=self.stack.config.url("sequencer"),
            batch_size=50,
            flush_interval=0.05,
            retry_deadline=120,
            backoff_max=1.0,
            request_timeout=5,
            on_report=log.on_report,
        )
        return AuditClient(config)

    def _run(self, log: ClientLog) -> None:
        client = self._client(log)
        n = 0
        while not self._stop.is_set():
            log.logged.append(client.log("fault.test", actor=f"c{id(log)}", attributes={"n": n}))
            n += 1
            time.sleep(0.002)
        client.close(self._flush_timeout)

    def start(self) -> None:
        for log in self.logs:
            t = threading.Thread(target=self._run, args=(log,), daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Stop logging and wait until every client delivered what it buffered."""
        self._stop.set()
        for t in self._threads:
            t.join(240)

    def abort(self) -> None:
        """Stop logging after a failed scenario without waiting long for deliveries."""
        self._flush_timeout = 2.0
        self.stop()


@dataclass
class Audit:
    """The verdict of one scenario, read from the store."""

    scenario: str
    sent: int
    acknowledged: int
    stored: int
    duplicated: int
    lost: int
    rolled_back: int
    seq_repeats: int
    order_violations: int
    unreported_missing: int
    logs_damaged: int = 0
    window_ms: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.duplicated
            or self.lost
            or self.seq_repeats
            or self.order_violations
            or self.unreported_missing
            or self.logs_damaged
        )


@dataclass(frozen=True)
class Rollback:
    """How a scenario rolled Redis back, on the ``time.monotonic()`` scale.

    Acknowledgements before ``durable_at`` must survive; Redis lost the rest
    at ``fault_at``.
    """

    durable_at: float
    fault_at: float


def audit(scenario: str, load: Load, rollback: Rollback | None = None) -> Audit:
    """Compare the store with what every client logged and was acknowledged.

    Each tenant's tamper-evident log is verified too: intact, and one position
    for every stored event (``logs_damaged`` counts the tenants for which not).

    With a ``rollback``, a missing acknowledged event whose acknowledgement
    came after its durable point was rolled back with Redis and is counted as
    ``rolled_back``; ``window_ms`` is how long before the fault the oldest of
    them was acknowledged. Any other missing acknowledged event is ``lost``.
    """
    stack = load.stack
    assert wait_drained(stack.config.redis_url, stack.config.shards, timeout=300)
    rows: list[dict[str, object]] = []
    damaged = 0
    for key in load.keys.values():
        with QueryClient(stack.config.url("query"), key) as q:
            mine = [json.loads(line) for line in q.export_lines({})]
            report = q.get("/v1/log/verify").json()
        rows += mine
        damaged += not (report["ok"] and report["size"] == report["rows"] == len(mine))
    per_key = Counter(str(r["idempotency_key"]) for r in rows)
    seq_of = {str(r["idempotency_key"]): int(r["seq"]) for r in rows}  # type: ignore[call-overload]
    seqs = Counter((r["tenant"], r["seq"]) for r in rows)
    lost = rolled_back = order = unreported = acked = sent = 0
    window = 0.0
    for log in load.logs:
        sent += len(log.logged)
        acked += len(log.acked)
        missing = [k for k in log.acked if k not in per_key]
        late = [k for k in missing if rollback and log.acked_at[k] > rollback.durable_at]
        rolled_back += len(late)
        if rollback and late:
            window = max(window, rollback.fault_at - min(log.acked_at[k] for k in late))
        lost += len(missing) - len(late)
        unreported += sum(
            1 for k in log.logged if k not in per_key and k not in log.acked and k not in log.failed
        )
        stored_in_order = [seq_of[k] for k in log.logged if k in seq_of]
        order += sum(1 for a, b in itertools.pairwise(stored_in_order) if b <= a)
    return Audit(
        scenario=scenario,
        sent=sent,
        acknowledged=acked,
        stored=len(per_key),
        duplicated=sum(n - 1 for n in per_key.values()),
        lost=lost,
        rolled_back=rolled_back,
        seq_repeats=sum(n - 1 for n in seqs.values()),
        order_violations=order,
        unreported_missing=unreported,
        logs_damaged=damaged,
        window_ms=round(window * 1000),
    )


def restore_dir(src: Path, dest: Path) -> None:
    """Replace ``dest`` with a copy of ``src``."""
    shutil.rmtree(dest)
    shutil.copytree(src, dest)
