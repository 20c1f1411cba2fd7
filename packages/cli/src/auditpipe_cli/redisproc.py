"""Running a local ``redis-server`` with append-only persistence."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

REDIS_CONF = """\
bind 127.0.0.1
port {port}
dir {dir}
appendonly yes
appendfsync {fsync}
appendfilename "appendonly.aof"
save ""
protected-mode yes
daemonize no
logfile {log}
maxmemory {maxmemory}
maxmemory-policy noeviction
"""


def redis_server_binary() -> str:
    """Path of redis-server, or a clear error telling how to install it."""
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(
            "redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server)"
        )
    return path


def start_redis(
    data_dir: Path, port: int, fsync: str = "everysec", maxmemory: str = "1gb"
) -> subprocess.Popen[bytes]:
    """Start redis-server with AOF on, data under ``data_dir``; returns the process.

    ``noeviction``: when memory is full Redis refuses writes instead of
    silently evicting queued audit events.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "redis.conf"
    conf.write_text(
        REDIS_CONF.format(
            port=port, dir=data_dir, fsync=fsync, log=data_dir / "redis.log", maxmemory=maxmemory
        )
    )
    return subprocess.Popen([redis_server_binary(), str(conf)], stdout=subprocess.DEVNULL)


def stop_redis(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """Stop redis-server cleanly (SIGTERM: fsync the AOF, exit); SIGKILL after ``timeout``.

    Redis refuses a shutdown while it writes its first AOF (``Writing initial
    AOF, can't exit``, e.g. right after a replica's full sync), so SIGTERM is
    repeated until the process is gone.
    """
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(0.5)
        except subprocess.TimeoutExpired:
            continue
    if proc.poll() is None:
        proc.kill()
    return proc.wait(10)


def start_replica(
    data_dir: Path, port: int, primary_port: int, timeout: float = 30.0
) -> tuple[subprocess.Popen[bytes], redis.Redis]:
    """Start a redis-server on ``port`` replicating ``primary_port``; return once in sync."""
    proc = start_redis(data_dir, port)
    client = redis.Redis(port=port)
    _poll(client.ping, timeout, f"redis-server on port {port} to answer")
    client.replicaof("127.0.0.1", primary_port)
    _poll(
        lambda: client.info("replication")["master_link_status"] == "up",
        timeout,
        f"the replica on port {port} to sync with {primary_port}",
    )
    return proc, client


def _poll(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``check`` (a refused connection counts as not yet) until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)
