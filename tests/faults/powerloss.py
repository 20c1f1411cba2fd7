"""A power loss of the Redis host, simulated exactly: the AOF cut back to its last fsync.

A power loss keeps what the disk holds and loses the page cache: for Redis,
the append-only file as far as the last completed ``fsync`` covered it. To
reproduce that, the stack's redis-server is run under ``strace``, which logs
every write to the AOF (with its length) and every fsync of it. At the fault,
redis-server is SIGKILLed and its AOF truncated to the bytes written before
the last completed fsync began; then it is started again on that file.

That fsync's start is the *durable point*. An event acknowledged before it
was written before it, so it must survive; one acknowledged after it may be
lost, and how long before the fault the oldest such acknowledgement came is
the loss window of the fsync policy, as measured.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest
import redis

from auditpipe_cli.redisproc import redis_server_binary, stop_redis
from auditpipe_cli.stack import LocalStack
from tests.faults.harness import Rollback

_CALL = re.compile(r"^(\d+)\s+([\d.]+) (write|fdatasync|fsync)\((.*)$")
_RESUMED = re.compile(r"^(\d+)\s+[\d.]+ <\.\.\. (write|fdatasync|fsync) resumed>.*?= (-?\d+)")
_RETURN = re.compile(r"= (-?\d+)")


def last_fsync(lines: list[str], size: int) -> tuple[float, int]:
    """The start (epoch seconds) of the last completed fsync in an strace log of
    one file, and the file's length then; ``size`` is its length when tracing began.

    A write counts once strace saw it complete, so one still running when the
    fsync began is not counted (the cut may drop a little more than the disk
    would, never less).
    """
    written, pending, durable = size, {}, (0.0, size)
    for line in lines:
        if m := _CALL.match(line):
            pid, at, call, rest = m.groups()
            if "<unfinished ...>" in rest:
                pending[pid] = (call, float(at), written)
                continue
            ret = _RETURN.search(rest)
            done = (call, float(at), written, int(ret.group(1)) if ret else -1)
        elif m := _RESUMED.match(line):
            pid, call, ret_text = m.groups()
            _, at_f, before = pending.pop(pid)
            done = (call, at_f, before, int(ret_text))
        else:
            continue
        call, start, before, ret = done
        if call == "write" and ret > 0:
            written += ret
        elif call != "write" and ret == 0:
            durable = max(durable, (start, before))
    return durable


class PowerLoss:
    """The stack's redis-server, run under strace so that its host can lose power."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.dir = stack.data_dir / "redis"
        self.trace = stack.data_dir / "logs" / "redis-strace.log"
        self._strace: subprocess.Popen[bytes] | None = None
        self._pid = 0

    def __enter__(self) -> PowerLoss:
        """Restart the stack's Redis (cleanly, everything fsynced) under strace."""
        strace = shutil.which("strace")
        if strace is None:
            pytest.fail("strace is missing: make bootstrap installs it (apt-get install strace)")
        stop_redis(self.stack.procs.pop("redis"))
        self.aof = self._incr_file()
        self._size = self.aof.stat().st_size
        trace = ["-f", "--seccomp-bpf", "-e", "trace=write,fdatasync,fsync", "-P", str(self.aof)]
        log = ["-y", "-s", "0", "-qq", "-ttt", "-o", str(self.trace)]
        server = [redis_server_binary(), str(self.dir / "redis.conf")]
        self._strace = subprocess.Popen([strace, *trace, *log, *server])
        client = redis.Redis.from_url(self.stack.config.redis_url)
        deadline = time.monotonic() + 30
        while not self._pid:
            try:
                self._pid = int(client.info("server")["process_id"])
            except redis.ConnectionError:
                assert self._strace.poll() is None, "redis-server under strace exited"
                assert time.monotonic() < deadline, "redis-server under strace did not start"
                time.sleep(0.05)
        client.close()
        return self

    def _incr_file(self) -> Path:
        """The AOF file Redis appends to (the last ``type i`` file of the manifest)."""
        manifest = (self.dir / "appendonlydir" / "appendonly.aof.manifest").read_text()
        names = re.findall(r"^file (\S+) seq \d+ type i$", manifest, re.MULTILINE)
        return self.dir / "appendonlydir" / names[-1]

    def cut(self) -> Rollback:
        """The power loss: SIGKILL redis-server and cut its AOF back to the last fsync."""
        assert self._strace is not None
        os.kill(self._pid, signal.SIGKILL)
        fault_at = time.monotonic()
        self._strace.wait(30)
        assert self._incr_file() == self.aof, "Redis rewrote its AOF during the scenario"
        at, size = last_fsync(self.trace.read_text().splitlines(), self._size)
        assert at, "Redis never fsynced its AOF while traced"
        os.truncate(self.aof, size)
        return Rollback(durable_at=at - (time.time() - time.monotonic()), fault_at=fault_at)

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._strace is not None and self._strace.poll() is None:  # a failed scenario
            os.kill(self._pid, signal.SIGKILL)
            self._strace.wait(30)
