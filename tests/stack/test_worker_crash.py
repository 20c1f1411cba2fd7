"""A worker SIGKILLed between its insert and its acknowledgement stores nothing twice."""

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


def test_kill_between_insert_and_ack_then_recover(own_stack: LocalStack) -> None:
    stack = own_stack
    key = create_key(stack.config.redis_url, "acme")
    stack.kill("node", signal.SIGTERM)
    # Restarted with the fault hook: it SIGKILLs itself right after its first insert.
    stack.start_service("node", env={"AUDITPIPE_FAULT_KILL_AFTER_INSERT": "true"})
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
    assert stored == set(keys)
