"""The local stack: redis-server, sequencer, ingest and the store node as processes.

Used by ``auditpipe up``, ``auditpipe demo`` and the integration tests, so
the tests exercise exactly what users run. Every process is a real OS
process (tests kill them with SIGKILL); their logs go to
``DATA_DIR/logs/NAME.log`` and the addresses to ``DATA_DIR/stack.json``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

import httpx
import redis

from auditpipe_cli.redisproc import start_redis, stop_redis
from auditpipe_common.tlog import generate_key_file, load_private_key, public_key_text

LOCAL_DEPLOYMENT = "local"
SERVICES = {
    "sequencer": "auditpipe_sequencer",
    "ingest": "auditpipe_ingest",
    "node": "auditpipe_cli.node",
}


@dataclass
class StackConfig:
    """Where the local stack keeps data and listens."""

    data_dir: Path
    ingest_port: int = 8700
    sequencer_port: int = 8701
    query_port: int = 8702
    redis_port: int = 6390
    shards: int = 4
    appendfsync: str = "everysec"
    log_level: str = "info"
    batch_rows: int = 20_000
    retention_days: int = 400
    checkpoint_interval_s: float = 10.0
    log_enabled: bool = True  # False only to measure what the log costs (bench)
    receipts: bool = True  # ingest signs receipts (False only to measure their cost)

    @property
    def redis_url(self) -> str:
        """URL of the stack's Redis."""
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def url(self, service: str) -> str:
        """Base URL of an HTTP service of the stack."""
        port = {
            "ingest": self.ingest_port,
            "sequencer": self.sequencer_port,
            "query": self.query_port,
            "node": self.query_port,
        }[service]
        return f"http://127.0.0.1:{port}"


def signing_keys(data_dir: Path) -> dict[str, Path]:
    """The local stack's Ed25519 keys (``log``: checkpoints, ``ingest``: receipts), made once.

    They live in ``DATA_DIR/keys`` (mode 0700, files 0600); a production
    deployment mounts its own from a Kubernetes Secret instead.
    """
    folder = data_dir / "keys"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = {name: folder / f"{name}.pem" for name in ("log", "ingest")}
    for path in keys.values():
        if not path.exists():
            generate_key_file(path)
    return keys


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(check: object, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready in {timeout:.0f}s (last error: {last})")


class LocalStack:
    """Starts, supervises and stops the local pipeline."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- environment --------------------------------------------------------
    def env(self, service: str) -> dict[str, str]:
        """Environment of one service process."""
        c = self.config
        port = {"sequencer": c.sequencer_port, "ingest": c.ingest_port, "node": c.query_port}
        keys = signing_keys(self.data_dir)
        public = public_key_text(load_private_key(keys["log"]))
        return {
            **os.environ,
            "NO_PROXY": "127.0.0.1,localhost",
            "AUDITPIPE_REDIS_URL": c.redis_url,
            "AUDITPIPE_STREAM_SHARDS": str(c.shards),
            "AUDITPIPE_STORE_DSN": f"chdb://{self.data_dir / 'chdb'}",
            "AUDITPIPE_HOST": "127.0.0.1",
            "AUDITPIPE_PORT": str(port[service]),
            "AUDITPIPE_LOG_FORMAT": "json",
            "AUDITPIPE_LOG_LEVEL": c.log_level,
            "AUDITPIPE_BATCH_ROWS": str(c.batch_rows),
            "AUDITPIPE_RETENTION_DAYS": str(c.retention_days),
            "AUDITPIPE_CONSUMER": f"node-{os.getpid()}-{time.time_ns()}",
            "AUDITPIPE_RESERVATIONS_PATH": str(self.data_dir / "sequencer" / "reservations.json"),
            "AUDITPIPE_LOG_DEPLOYMENT": LOCAL_DEPLOYMENT,
            "AUDITPIPE_LOG_ENABLED": str(c.log_enabled).lower(),
            "AUDITPIPE_LOG_KEY_FILES": json.dumps([str(keys["log"])]),
            "AUDITPIPE_LOG_PUBLIC_KEYS": json.dumps([public]),
            **({"AUDITPIPE_RECEIPT_KEY_FILE": str(keys["ingest"])} if c.receipts else {}),
            "AUDITPIPE_CHECKPOINT_INTERVAL_S": str(c.checkpoint_interval_s),
        }

    # -- lifecycle ------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> None:
        """Start every process and wait until each is ready."""
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.start_redis(timeout)
        for name in SERVICES:
            self.start_service(name, timeout)
        (self.data_dir / "stack.json").write_text(json.dumps(self.describe(), indent=2))

    def start_redis(self, timeout: float = 30.0) -> None:
        """Start (or restart) redis-server and wait for PING."""
        c = self.config
        self.procs["redis"] = start_redis(self.data_dir / "redis", c.redis_port, c.appendfsync)
        client = redis.Redis.from_url(c.redis_url)
        try:
            _wait(lambda: self._alive("redis") and client.ping(), "redis-server", timeout)
        finally:
            client.close()

    def start_service(
        self,
        name: str,
        timeout: float = 90.0,
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> None:
        """Start (or restart) one service process and, with ``wait``, wait for its /readyz.

        ``env`` adds variables for this start only (the fault tests use it, and
        ``wait=False`` for a process that kills itself, maybe before it is ready).
        """
        log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", SERVICES[name]],
            env={**self.env(name), **(env or {})},
            stdout=log,
            stderr=log,
        )
        log.close()
        if not wait:
            return
        url = f"{self.config.url(name)}/readyz"

        def ready() -> bool:
            if not self._alive(name):
                raise RuntimeError(f"{name} exited; see {self.data_dir / 'logs' / name}.log")
            return httpx.get(url, timeout=2).status_code == 200

        _wait(ready, name, timeout)

    def _alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Send ``sig`` to one process, reap it and return its exit status."""
        proc = self.procs[name]
        proc.send_signal(sig)
        return proc.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gracefully: ingest first (no new work), the store node last before Redis."""
        for name in ("ingest", "sequencer", "node", "redis"):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            if name == "redis":
                stop_redis(proc, timeout)
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def describe(self) -> dict[str, object]:
        """Addresses of the running stack (written to stack.json)."""
        return {
            "ingest_url": self.config.url("ingest"),
            "sequencer_url": self.config.url("sequencer"),
            "query_url": self.config.url("query"),
            "redis_url": self.config.redis_url,
            "data_dir": str(self.data_dir),
            "config": {k: str(v) for k, v in asdict(self.config).items()},
        }

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
