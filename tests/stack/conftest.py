"""Helpers for tests that run the whole local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auditpipe import AuditClient, ClientConfig
from auditpipe_cli.datasets import datasets_root
from auditpipe_cli.remote import QueryClient, create_key
from auditpipe_cli.stack import LocalStack

pytestmark = pytest.mark.stack


@pytest.fixture
def tenant() -> str:
    """A tenant name no other test uses."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_client(stack: LocalStack) -> Iterator[Callable[..., AuditClient]]:
    """Build SDK clients for the stack (closed at the end of the test)."""
    clients: list[AuditClient] = []

    def make(key: str, **kw: object) -> AuditClient:
        cfg = ClientConfig(
            api_key=key,
            ingest_url=stack.config.url("ingest"),
            sequencer_url=stack.config.url("sequencer"),
            **kw,
        )  # type: ignore[arg-type]
        client = AuditClient(cfg)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def key_and_query(stack: LocalStack, tenant: str) -> Iterator[tuple[str, QueryClient]]:
    """An API key for the test's tenant and a query client using it."""
    key = create_key(stack.config.redis_url, tenant)
    with QueryClient(stack.config.url("query"), key) as query:
        yield key, query


def exported(query: QueryClient) -> list[dict[str, Any]]:
    """Every event of the key's tenant as the export gives it, in ``seq`` order."""
    return [json.loads(line) for line in query.export_lines({})]


def wait_count(query: QueryClient, expected: int, timeout: float = 60) -> int:
    """Poll the stored row count until it reaches ``expected`` (or time out)."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = query.stats()["count"]
        if count >= expected:
            return count
        time.sleep(0.1)
    return count


def datasets_dir() -> Path:
    """The shared audit-log data sets; a missing folder fails the test loudly."""
    path = datasets_root()
    if not path.is_dir():
        pytest.fail(f"data sets not found at {path}; set AUDITPIPE_DATASETS")
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``auditpipe`` command as users do, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "auditpipe_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )
