"""The Redis start script, role agent, redis.conf and key registration, run for real.

Each "pod" is a real redis-server started by the rendered start script from the
rendered ``redis.conf``. The pod's absolute paths are moved into a temporary
folder, and each pod listens on a loopback address of its own (127.0.0.1N for
ordinal N, all on one port), so ``$PEER_PREFIX<N>$PEER_SUFFIX`` names pod N as the
headless Service's DNS names do in a cluster. The ``primary`` file plays the
ConfigMap key every pod mounts; the tests run the role agent's step where the
sidecar would run it every two seconds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from auditpipe_cli.redisproc import stop_redis
from auditpipe_cli.stack import free_port
from auditpipe_operator.resources.ingest import REGISTER_KEY_SCRIPT
from auditpipe_operator.resources.redis import ROLE_SCRIPT, START_SCRIPT, redis_conf
from auditpipe_operator.testing import make_pipeline

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-pw"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``check`` (Redis errors count as not yet) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def common_free_port(hosts: list[str]) -> int:
    """A port free on every one of ``hosts``."""
    for _ in range(50):
        port = free_port()
        try:
            for host in hosts:
                with socket.socket() as sock:
                    sock.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no common free port")


class RedisPods:
    """Redis pods of one pipeline: ``start(n)`` runs pod n's start script."""

    def __init__(self, root: Path, spec: dict[str, Any], count: int) -> None:
        self.root = root
        self.conf = redis_conf(make_pipeline(spec))
        self.primary_file = root / "primary"
        self.primary_file.write_text("0")
        self.port = common_free_port([self.host(n) for n in range(count)])
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.clients: list[redis.Redis] = []

    @staticmethod
    def host(ordinal: int) -> str:
        """The pod's address: what its DNS name resolves to."""
        return f"127.0.0.1{ordinal}"

    def _paths(self, text: str, ordinal: int) -> str:
        pod = self.root / f"pod{ordinal}"
        return (
            text.replace("/etc/redis/redis.conf", str(pod / "redis.conf"))
            .replace("/etc/redis/primary", str(self.primary_file))
            .replace("/run/redis", str(pod / "run"))
            .replace("dir /data", f"dir {pod / 'data'}")
        )

    def env(self, ordinal: int) -> dict[str, str]:
        """The pod's environment, as the StatefulSet sets it."""
        return {
            **os.environ,
            "HOSTNAME": f"audit-redis-{ordinal}",
            "REDIS_PASSWORD": PASSWORD,
            "REDISCLI_AUTH": PASSWORD,
            "REDIS_PORT": str(self.port),
            "PEER_PREFIX": "127.0.0.1",
            "PEER_SUFFIX": "",
            "SELF_HOST": self.host(ordinal),
        }

    def start(self, ordinal: int) -> redis.Redis:
        """Start pod ``ordinal`` (its files are kept across restarts); a client to it."""
        pod = self.root / f"pod{ordinal}"
        for sub in ("data", "run"):
            (pod / sub).mkdir(parents=True, exist_ok=True)
        conf = self.conf.replace("port 6379", f"port {self.port}")
        conf = conf.replace("bind * -::*", f"bind {self.host(ordinal)}")
        (pod / "redis.conf").write_text(self._paths(conf, ordinal))
        script = self._paths(START_SCRIPT, ordinal)
        with (pod / "redis.log").open("ab") as log:
            self.procs[ordinal] = subprocess.Popen(
                ["sh", "-c", script], env=self.env(ordinal), stdout=log, stderr=log
            )
        client = self.client(ordinal)
        wait_for(lambda: bool(client.ping()), f"pod {ordinal}")
        return client

    def client(self, ordinal: int) -> redis.Redis:
        """A client of pod ``ordinal`` (closed by :meth:`stop_all`)."""
        client = redis.Redis(host=self.host(ordinal), port=self.port, password=PASSWORD)
        self.clients.append(client)
        return client

    def kill(self, ordinal: int) -> None:
        """SIGKILL pod ``ordinal`` (a lost node)."""
        proc = self.procs.pop(ordinal)
        proc.kill()
        proc.wait(10)

    def agent_step(self, ordinal: int) -> str:
        """One run of pod ``ordinal``'s role agent; what it printed."""
        done = subprocess.run(
            ["sh", "-c", self._paths(ROLE_SCRIPT, ordinal)],
            env=self.env(ordinal),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop_all(self) -> None:
        """Close the clients; stop every pod, replicas first."""
        for client in self.clients:
            client.close()
        for ordinal in sorted(self.procs, reverse=True):
            stop_redis(self.procs.pop(ordinal))


@pytest.fixture
def pods(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RedisPods]:
    """Room for three pods of a pipeline (spec by indirect parametrization)."""
    spec = getattr(request, "param", {"redis": {"appendfsync": "always"}})
    group = RedisPods(tmp_path, spec, 3)
    try:
        yield group
    finally:
        group.stop_all()


def linked_to(client: redis.Redis, host: str) -> bool:
    """Whether ``client``'s server replicates ``host`` and is in sync."""
    info = client.info("replication")
    return bool(
        info["role"] == "slave"
        and info["master_host"] == host
        and info["master_link_status"] == "up"
    )


PROMOTE = {"redis": {"replicas": 3}, "failover": {"redisPrimaryLoss": "PromoteReplica"}}


def test_primary_has_aof_auth_and_noeviction(pods: RedisPods) -> None:
    client = pods.start(0)
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "always"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert client.config_get("min-replicas-to-write") == {"min-replicas-to-write": "0"}
    anonymous = redis.Redis(host=pods.host(0), port=pods.port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    anonymous.close()


def test_replicas_follow_the_primary_the_config_names(pods: RedisPods) -> None:
    primary, *replicas = (pods.start(n) for n in range(3))
    primary.set("probe", "1")
    for replica in replicas:
        wait_for(lambda r=replica: linked_to(r, pods.host(0)), "replication")
        wait_for(lambda r=replica: r.get("probe") == b"1", "the key on a replica")
    assert all(pods.agent_step(n) == "" for n in range(3))  # nothing to change


@pytest.mark.parametrize("pods", [PROMOTE], indirect=True, ids=["PromoteReplica"])
def test_a_primary_no_replica_follows_refuses_writes(pods: RedisPods) -> None:
    primary = pods.start(0)
    with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
        primary.set("alone", "1")
    replica = pods.start(1)
    wait_for(lambda: linked_to(replica, pods.host(0)), "replication")
    wait_for(lambda: bool(primary.set("followed", "1")), "writes with a replica")
    pods.kill(1)
    wait_for(lambda: not _writable(primary), "the primary to refuse writes")


def _writable(client: redis.Redis) -> bool:
    try:
        return bool(client.set("probe", "1"))
    except redis.ResponseError as exc:
        if "NOREPLICAS" in str(exc):
            return False
        raise


@pytest.mark.parametrize("pods", [PROMOTE], indirect=True, ids=["PromoteReplica"])
def test_promotion_keeps_acknowledged_writes_and_the_old_primary_rejoins(
    pods: RedisPods,
) -> None:
    primary, *replicas = (pods.start(n) for n in range(3))
    for replica in replicas:
        wait_for(lambda r=replica: linked_to(r, pods.host(0)), "replication")
    primary.set("acknowledged", "batch-1")
    assert primary.wait(2, 5000) == 2  # ingest with redisReplicaAcks 2 (replicas - 1)
    pods.kill(0)
    pods.primary_file.write_text("1")  # the operator's promotion, as the ConfigMap key
    assert pods.agent_step(1) == "promoted to primary\n"
    assert pods.agent_step(2) == f"replicating {pods.host(1)}\n"
    new_primary, other = replicas
    wait_for(lambda: linked_to(other, pods.host(1)), "pod 2 to follow pod 1")
    assert new_primary.get("acknowledged") == b"batch-1"
    wait_for(lambda: _writable(new_primary), "writes on the new primary")
    new_primary.set("after", "batch-2")
    old = pods.start(0)  # the lost pod comes back: as a replica of the new primary
    wait_for(lambda: linked_to(old, pods.host(1)), "the old primary to rejoin")
    wait_for(lambda: old.get("after") == b"batch-2", "the old primary to catch up")
    assert all(pods.agent_step(n) == "" for n in range(3))


@pytest.mark.parametrize("pods", [PROMOTE], indirect=True, ids=["PromoteReplica"])
def test_a_live_old_primary_is_demoted_and_turns_read_only(pods: RedisPods) -> None:
    old, new = pods.start(0), pods.start(1)
    wait_for(lambda: linked_to(new, pods.host(0)), "replication")
    pods.primary_file.write_text("1")  # a failover by hand while both still run
    assert pods.agent_step(1) == "promoted to primary\n"
    assert pods.agent_step(0) == f"replicating {pods.host(1)}\n"
    wait_for(lambda: linked_to(old, pods.host(1)), "the old primary to follow")
    with pytest.raises(redis.ReadOnlyError):
        old.set("stale-write", "1")


def test_bootstrap_key_registration_is_found_by_api_key_lookup(pods: RedisPods) -> None:
    from redis.asyncio import Redis

    from auditpipe_common.apikeys import ApiKeys

    pods.start(0)
    key = "ap_test-bootstrap-key"
    env = {
        **os.environ,
        "BOOTSTRAP_API_KEY": key,
        "REDISCLI_AUTH": PASSWORD,
        "BOOTSTRAP_TENANT": "acme",
        "REDIS_HOST": pods.host(0),
        "REDIS_PORT": str(pods.port),
        "KEY_PREFIX": "auditpipe",
    }
    for _ in range(2):  # idempotent: the second run keeps the first registration
        done = subprocess.run(["sh", "-c", REGISTER_KEY_SCRIPT], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        assert key.encode() not in done.stdout + done.stderr

    async def lookup() -> str | None:
        client = Redis(host=pods.host(0), port=pods.port, password=PASSWORD)
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
        "REDIS_PORT": str(free_port()),
        "KEY_PREFIX": "auditpipe",
    }
    done = subprocess.run(["sh", "-c", REGISTER_KEY_SCRIPT], env=env, capture_output=True)
    assert done.returncode != 0
