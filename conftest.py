"""Fixtures shared by every test tier: real redis-server, real chDB, the local stack.

Servers are started by the fixtures themselves (nothing needs to be running):
``redis_server`` is a real ``redis-server`` with AOF on, in a temporary
folder, on a free port; ``chdb_root`` is one embedded ClickHouse for the test
process (chDB allows one data path per process), and ``store`` gives each
test its own database in it; ``stack`` runs the whole local pipeline as
separate processes, the way ``auditpipe up`` does.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server (AOF everysec) private to this test session."""
    import redis

    from auditpipe_cli.redisproc import start_redis, stop_redis
    from auditpipe_cli.stack import free_port

    port = free_port()
    proc = start_redis(tmp_path_factory.mktemp("redis"), port)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(200):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if proc.poll() is not None:
                    raise RuntimeError("redis-server exited at start") from None
                asyncio.run(asyncio.sleep(0.05))
        yield url
    finally:
        client.close()
        stop_redis(proc)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()
    client.close()
    return redis_server


@pytest.fixture(scope="session")
def chdb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one chDB data path of this test process."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def store(chdb_root: Path) -> Iterator[object]:
    """A :class:`Store` on a database of its own, schema created."""
    from pydantic import SecretStr

    from auditpipe_common.settings import StoreSettings
    from auditpipe_common.store import open_store

    settings = StoreSettings(
        store_dsn=SecretStr(f"chdb://{chdb_root}"), store_database=f"t_{uuid.uuid4().hex[:12]}"
    )
    st = open_store(settings)
    yield st
    st.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The local pipeline (redis-server, sequencer, ingest, worker + query) as processes."""
    from auditpipe_cli.stack import LocalStack, StackConfig, free_port

    config = StackConfig(
        data_dir=tmp_path_factory.mktemp("stack"),
        ingest_port=free_port(),
        sequencer_port=free_port(),
        query_port=free_port(),
        redis_port=free_port(),
        log_level="warning",
        checkpoint_interval_s=1.0,
    )
    with LocalStack(config) as st:
        yield st
