"""The Redis start script, redis.conf and the bootstrap-key registration, run for real.

Starts real redis-server processes (a primary and a replica) from the rendered
``redis.conf`` and start script, with their absolute paths moved into a temporary
folder, then runs the ingest init container's script with the real redis-cli and
checks that auditpipe's own API-key lookup finds the bootstrap key.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from auditpipe_cli.redisproc import stop_redis
from auditpipe_operator.resources.ingest import REGISTER_KEY_SCRIPT
from auditpipe_operator.resources.redis import START_SCRIPT, redis_conf
from auditpipe_operator.testing import make_pipeline

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-pw"


def _free_port() -> int:
    from auditpipe_cli.stack import free_port

    return free_port()


def _wait(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _start(root: Path, hostname: str, port: int, primary_port: int) -> subprocess.Popen[bytes]:
    root.mkdir()
    for sub in ("data", "run", "etc"):
        (root / sub).mkdir()
    conf = redis_conf(make_pipeline({"redis": {"appendfsync": "always"}}))
    conf = conf.replace("port 6379", f"port {port}").replace("/run/redis", str(root / "run"))
    (root / "etc" / "redis.conf").write_text(conf.replace("dir /data", f"dir {root / 'data'}"))
    script = START_SCRIPT.replace("/run/redis", str(root / "run")).replace(
        "/etc/redis", str(root / "etc")
    )
    env = {
        **os.environ,
        "HOSTNAME": hostname,
        "REDIS_PASSWORD": PASSWORD,
        "REDIS_PORT": str(primary_port),
        "PRIMARY_HOST": "127.0.0.1",
    }
    with (root / "redis.log").open("wb") as log:
        return subprocess.Popen(["sh", "-c", script], env=env, stdout=log, stderr=log)


@pytest.fixture
def redis_pair(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A primary (pod 0) and a replica (pod 1) started by the real start script."""
    primary_port, replica_port = _free_port(), _free_port()
    procs = [
        _start(tmp_path / "r0", "audit-redis-0", primary_port, primary_port),
        _start(tmp_path / "r1", "audit-redis-1", replica_port, primary_port),
    ]
    try:
        yield primary_port, replica_port
    finally:
        for proc in reversed(procs):  # the replica first, as a StatefulSet scales down
            stop_redis(proc)


def test_primary_has_aof_auth_and_noeviction(redis_pair: tuple[int, int]) -> None:
    primary_port, _ = redis_pair
    client = redis.Redis(port=primary_port, password=PASSWORD)
    _wait(lambda: bool(client.ping()), "the primary")
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "always"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=primary_port).ping()
    client.close()


def test_replica_follows_the_primary_with_the_password(redis_pair: tuple[int, int]) -> None:
    primary_port, replica_port = redis_pair
    primary = redis.Redis(port=primary_port, password=PASSWORD)
    replica = redis.Redis(port=replica_port, password=PASSWORD)
    _wait(lambda: bool(primary.ping()), "the primary")
    primary.set("probe", "1")
    _wait(lambda: replica.get("probe") == b"1", "replication")
    assert replica.info("replication")["role"] == "slave"
    primary.close()
    replica.close()


def test_bootstrap_key_registration_is_found_by_api_key_lookup(
    redis_pair: tuple[int, int],
) -> None:
    from redis.asyncio import Redis

    from auditpipe_common.apikeys import ApiKeys

    primary_port, _ = redis_pair
    _wait(lambda: bool(redis.Redis(port=primary_port, password=PASSWORD).ping()), "primary")
    key = "ap_test-bootstrap-key"
    env = {
        **os.environ,
        "BOOTSTRAP_API_KEY": key,
        "REDISCLI_AUTH": PASSWORD,
        "BOOTSTRAP_TENANT": "acme",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(primary_port),
        "KEY_PREFIX": "auditpipe",
    }
    for _ in range(2):  # idempotent: the second run keeps the first registration
        done = subprocess.run(["sh", "-c", REGISTER_KEY_SCRIPT], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        assert key.encode() not in done.stdout + done.stderr

    async def lookup() -> str | None:
        client = Redis(port=primary_port, password=PASSWORD)
        try:
            info = await ApiKeys(client).lookup(key)
            return info.tenant if info else None
        finally:
            await client.aclose()

    assert asyncio.run(lookup()) == "acme"


def test_registration_fails_loudly_without_redis() -> None:
    env = {
        **os.environ,
        "BOOTSTRAP_API_KEY": "ap_x",
        "REDISCLI_AUTH": PASSWORD,
        "BOOTSTRAP_TENANT": "acme",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(_free_port()),
        "KEY_PREFIX": "auditpipe",
    }
    done = subprocess.run(["sh", "-c", REGISTER_KEY_SCRIPT], env=env, capture_output=True)
    assert done.returncode != 0
