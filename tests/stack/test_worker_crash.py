"""A worker SIGKILLed mid-batch stores nothing twice and leaves its tenant's log intact.

Two points: after the batch's log positions are committed in Redis but before
its rows are stored (the next owner must replay the intent: same events at
the same positions), and between the insert and the acknowledgement.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditpipe import AuditClient, ClientConfig
from auditpipe_cli.remote import QueryClient, create_key
from auditpipe_cli.stack import LocalStack, StackConfig, free_port
from tests.stack.conftest import wait_count

pytestmark = [pytest.mark.stack, pytest.mark.faults]


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[LocalStack]:
    config = StackConfig(
        data_dir=tmp_path,
        ingest_port=free_port(),
        sequencer_port=free_port(),
        query_port=free_port(),
        redis_port=free_port(),
        shards=2,
    )
    with LocalStack(config) as stack:
        yield stack


@pytest.mark.parametrize(
    "hook", ["AUDITPIPE_FAULT_KILL_AFTER_LOG_COMMIT", "AUDITPIPE_FAULT_KILL_AFTER_INSERT"]
)
def test_kill_mid_batch_then_recover(own_stack: LocalStack, hook: str) -> None:
    stack = own_stack
    key = create_key(stack.config.redis_url, "acme")
    stack.kill("node", signal.SIGTERM)
    # Restarted with the fault hook: it SIGKILLs itself at that point of its first batch.
    stack.start_service("node", env={hook: "true"})
    cfg = ClientConfig(
        api_key=key,
        ingest_url=stack.config.url("ingest"),
        sequencer_url=stack.config.url("sequencer"),
        batch_size=100,
    )
    with AuditClient(cfg) as client:
        keys = [client.log("crash.test", actor="u", attributes={"i": i}) for i in range(1000)]
        assert client.flush(60)
        assert client.stats.acknowledged == 1000
    deadline = time.monotonic() + 60
    while stack.procs["node"].poll() is None:
        assert time.monotonic() < deadline, "the fault hook never fired"
        time.sleep(0.05)
    assert stack.procs["node"].returncode == -signal.SIGKILL

    stack.start_service("node")  # a healthy worker takes over the pending entries
    with QueryClient(stack.config.url("query"), key) as query:
        assert wait_count(query, 1000) == 1000
        time.sleep(1.0)  # let any second copy land before counting
        stats = query.stats()
        assert stats["count"] == stats["distinct_keys"] == 1000
        stored = {line.split('"idempotency_key":"')[1][:36] for line in query.export_lines({})}
        report = query.get("/v1/log/verify").json()
    assert stored == set(keys)
    assert report["ok"], report
    assert report["size"] == report["rows"] == 1000
