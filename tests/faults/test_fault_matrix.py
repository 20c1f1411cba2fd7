"""The fault matrix: steady SDK load, one real fault per scenario, then an audit of the store.

Every scenario checks, from the store: every event the SDK saw acknowledged
is stored exactly once, no ``seq`` repeats within a tenant, each client's
events are stored in ``log()`` order, and an event that was never
acknowledged is missing only if the SDK reported it as failed. The results
are written to docs/reliability.md.
"""

from __future__ import annotations

import random
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis

from auditpipe_cli.redisproc import start_replica, stop_redis
from auditpipe_cli.stack import LocalStack, free_port
from auditpipe_common.schema import EventBatch
from auditpipe_common.streams import BATCH_FIELD, shard_for, stream_key
from tests.faults.harness import Audit, Load, audit, make_stack, restore_dir
from tests.faults.powerloss import PowerLoss

pytestmark = [pytest.mark.faults, pytest.mark.stack]

Fault = Callable[[LocalStack, Path], None]
"""Injects one fault."""


def restart(stack: LocalStack, name: str, sig: int = signal.SIGKILL) -> None:
    stack.kill(name, sig)
    time.sleep(0.5)
    stack.start_service(name)


def kill_ingest(stack: LocalStack, _: Path) -> None:
    restart(stack, "ingest")


def kill_sequencer(stack: LocalStack, _: Path) -> None:
    restart(stack, "sequencer")


def kill_worker(stack: LocalStack, _: Path) -> None:
    restart(stack, "node")


def kill_worker_before_insert(stack: LocalStack, _: Path) -> None:
    kill_worker_at(stack, "AUDITPIPE_FAULT_KILL_BEFORE_INSERT")


def kill_worker_between_insert_and_ack(stack: LocalStack, _: Path) -> None:
    kill_worker_at(stack, "AUDITPIPE_FAULT_KILL_AFTER_INSERT")


def kill_worker_at(stack: LocalStack, hook: str) -> None:
    """Restart the worker with a hook that SIGKILLs it at one point, then restart it clean."""
    stack.kill("node", signal.SIGTERM)
    stack.start_service("node", env={hook: "true"}, wait=False)
    deadline = time.monotonic() + 60
    while stack.procs["node"].poll() is None:
        assert time.monotonic() < deadline, "the worker never reached its insert"
        time.sleep(0.05)
    assert stack.procs["node"].returncode == -signal.SIGKILL
    stack.start_service("node")


def restart_redis(stack: LocalStack, _: Path) -> None:
    stack.kill("redis")
    stack.start_redis()


def store_unavailable(stack: LocalStack, _: Path) -> None:
    store_fails(stack, "unavailable")


def store_read_only(stack: LocalStack, _: Path) -> None:
    store_fails(stack, "read-only")


def store_fails(stack: LocalStack, mode: str) -> None:
    """Restart the worker with its store failing for 6 s (injected: chDB is in-process)."""
    stack.kill("node", signal.SIGTERM)
    env = {"AUDITPIPE_FAULT_STORE_UNAVAILABLE_S": "6", "AUDITPIPE_FAULT_STORE_MODE": mode}
    stack.start_service("node", env=env)


@contextmanager
def frozen(stack: LocalStack, name: str) -> Iterator[None]:
    """Hold one process of the stack still (SIGSTOP) for the duration."""
    stack.procs[name].send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        stack.procs[name].send_signal(signal.SIGCONT)


def redis_full(stack: LocalStack, _: Path) -> None:
    """Freeze the worker and cap Redis memory: ingest must refuse (503), clients wait."""
    client = redis.Redis.from_url(stack.config.redis_url)
    try:
        with frozen(stack, "node"):
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", used + 512 * 1024)
            time.sleep(4)
        time.sleep(2)
        client.config_set("maxmemory", "1gb")
    finally:
        client.close()


def redis_stalls(stack: LocalStack, _: Path) -> None:
    """Redis stops answering writes for 3 s (CLIENT PAUSE): a slow Redis."""
    client = redis.Redis.from_url(stack.config.redis_url)
    client.client_pause(3000, all=False)
    client.close()
    time.sleep(3.5)


SCENARIOS: dict[str, tuple[Fault, str]] = {
    "SIGKILL ingest": (kill_ingest, "everysec"),
    "SIGKILL sequencer": (kill_sequencer, "everysec"),
    "SIGKILL worker (any time)": (kill_worker, "everysec"),
    "SIGKILL worker before its insert": (kill_worker_before_insert, "everysec"),
    "SIGKILL worker between insert and ack": (kill_worker_between_insert_and_ack, "everysec"),
    "restart Redis (appendfsync everysec)": (restart_redis, "everysec"),
    "restart Redis (appendfsync always)": (restart_redis, "always"),
    "store unavailable for 6 s": (store_unavailable, "everysec"),
    "store read-only for 6 s": (store_read_only, "everysec"),
    "Redis full (worker frozen, maxmemory)": (redis_full, "everysec"),
    "Redis stalls writes for 3 s": (redis_stalls, "everysec"),
}
POWER_LOSS = {
    ("everysec", 0): "Redis power loss: AOF cut to its last fsync (everysec)",
    ("always", 0): "Redis power loss: AOF cut to its last fsync (always)",
    ("everysec", 1): "Redis power loss, ingest WAITs for 1 replica, which takes over (everysec)",
}
MATRIX_ROWS = (*SCENARIOS, *POWER_LOSS.values())
"""Every row the suite writes to the results table of docs/reliability.md."""


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_fault(scenario: str, tmp_path: Path, record: list[Audit]) -> None:
    fault, fsync = SCENARIOS[scenario]
    with make_stack(tmp_path, fsync) as stack:
        load = Load(stack)
        load.start()
        try:
            time.sleep(random.uniform(1.0, 3.0))
            fault(stack, tmp_path)
            time.sleep(2.0)
        except BaseException:
            load.abort()
            raise
        load.stop()
        result = audit(scenario, load)
    record.append(result)
    assert result.acknowledged > 0
    assert result.ok, result


def test_a_row_the_store_rejects_does_not_discard_its_batch(tmp_path: Path) -> None:
    """One bad row (bypassing ingest, as a buggy producer would) is dead-lettered alone."""
    from auditpipe.events import build_event

    with make_stack(tmp_path) as stack:
        load = Load(stack, tenants=1, clients_per_tenant=1)
        events = [build_event("direct", actor="x", tenant="t0") for _ in range(5)]
        for i, ev in enumerate(events):
            ev.seq, ev.received_at = 10_000_000 + i, ev.occurred_at
        events[2].seq = 0  # violates the table's seq_positive constraint
        client = redis.Redis.from_url(stack.config.redis_url)
        stream = stream_key("auditpipe", shard_for("t0", stack.config.shards))
        client.xadd(stream, {BATCH_FIELD: EventBatch(events=events).SerializeToString()})
        load.start()
        time.sleep(2)
        load.stop()
        result = audit("one row rejected by the store", load)
        dead = client.xrange("auditpipe:deadletter")
        client.close()
    assert result.ok, result
    assert len(dead) == 1
    assert b"seq_positive" in dead[0][1][b"reason"]
    assert result.stored == result.acknowledged + 4


@pytest.mark.parametrize(("fsync", "replicas"), list(POWER_LOSS))
def test_redis_power_loss(fsync: str, replicas: int, tmp_path: Path, record: list[Audit]) -> None:
    """The Redis host loses power: its AOF keeps only what the last fsync covered.

    The worker is frozen for the last 1.2 s before, so the streams hold events
    acknowledged but not yet stored, as under a backlog: the worst case.
    Alone, Redis restarts from the cut file: what was acknowledged after the
    last fsync may be gone (the policy's loss window, as measured), nothing
    acknowledged before it. With ``AUDITPIPE_MIN_REPLICA_ACKS=1`` ingest
    acknowledges only what a replica holds too: the replica is promoted and
    takes the primary's address (as a Service moving to the promoted pod),
    the old primary comes back from its cut files as the new replica, and
    nothing acknowledged may be missing.
    """
    name = POWER_LOSS[(fsync, replicas)]
    with make_stack(tmp_path, fsync) as stack, PowerLoss(stack) as primary, ExitStack() as cleanup:
        if replicas:
            replica = cleanup.enter_context(Replica(tmp_path / "replica", stack))
            stack.kill("ingest", signal.SIGTERM)
            stack.start_service("ingest", env={"AUDITPIPE_MIN_REPLICA_ACKS": "1"})
        load = Load(stack)
        load.start()
        try:
            time.sleep(random.uniform(1.0, 3.0))
            with frozen(stack, "node"):  # a backlog, acknowledged and not yet stored
                time.sleep(1.2)
                rollback = primary.cut()
            if replicas:
                shutil.copytree(primary.dir, tmp_path / "old-primary")
                replica.take_over()
                cleanup.enter_context(Replica(tmp_path / "old-primary", stack))
            else:
                stack.start_redis()
            time.sleep(2.0)
        except BaseException:
            load.abort()
            raise
        load.stop()
        result = audit(name, load, rollback)
    record.append(result)
    assert result.acknowledged > 0
    assert result.ok, result
    if fsync == "always" or replicas:
        assert result.rolled_back == 0, result


class Replica:
    """A replica of the stack's Redis, started on the data in ``root`` (if any)."""

    def __init__(self, root: Path, stack: LocalStack) -> None:
        self.dir, self.stack = root, stack
        self.proc, self.client = start_replica(root, free_port(), stack.config.redis_port)

    def take_over(self) -> None:
        """Promote this replica and move it to the primary's address and folder."""
        self.client.replicaof("NO", "ONE")
        self.client.close()
        stop_redis(self.proc)  # SIGTERM fsyncs its AOF
        restore_dir(self.dir, self.stack.data_dir / "redis")
        self.stack.start_redis()

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.proc.poll() is None:
            stop_redis(self.proc)
