"""Fencing: a sequencer replaced by a newer one never hands out another number.

Runs against real redis-server processes. The second test loses the newer epoch
from Redis (SIGKILL, restart from an older copy of its files, as a failover to a
lagging replica would) and checks that the durable epoch still fences the old one.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from redis.asyncio import Redis

from auditpipe_cli.redisproc import start_redis, stop_redis
from auditpipe_cli.stack import free_port
from auditpipe_common.redisconn import connect
from auditpipe_sequencer.allocator import Fenced, RangeAllocator
from auditpipe_sequencer.reservations import FileReservations

pytestmark = pytest.mark.integration
T = TypeVar("T")


def fencing_allocator(client: Redis, reservations: Path) -> RangeAllocator:
    """An allocator as Kubernetes runs it (fencing on), started."""
    alloc = RangeAllocator(client, FileReservations(reservations), reserve_block=50, fencing=True)
    alloc.start()
    return alloc


async def numbers(alloc: RangeAllocator, rounds: int = 5) -> list[int]:
    """Numbers handed out by ``rounds`` allocations of 3 for tenant acme."""
    out: list[int] = []
    for _ in range(rounds):
        first, last = await alloc.allocate("acme", 3)
        out += range(first, last + 1)
    return out


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, retried for up to 20 s while Redis is unreachable (it is restarting)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return await call()
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def stored_epoch(port: int, key: str) -> int:
    """The epoch Redis holds now."""
    client = redis.Redis(port=port)
    try:
        return int(client.get(key) or 0)
    finally:
        client.close()


async def test_a_newer_sequencer_fences_the_old_one_for_good(
    redis_url: str, tmp_path: Path
) -> None:
    reservations = tmp_path / "reservations.json"
    c1, c2 = connect(redis_url), connect(redis_url)
    old = fencing_allocator(c1, reservations)
    await old.claim()
    before = await numbers(old)
    new = fencing_allocator(c2, reservations)
    await new.claim()
    assert new.epoch > old.epoch
    for _ in range(2):  # refused now and ever after
        with pytest.raises(Fenced):
            await old.allocate("acme", 1)
    assert old.fenced
    after = await numbers(new)
    assert min(after) > max(before)
    assert len(set(before + after)) == len(before + after)
    for alloc in (old, new):
        await alloc.stop()
    await c1.aclose()
    await c2.aclose()


class Server:
    """A private redis-server that can be killed and restarted from older files."""

    def __init__(self, root: Path) -> None:
        self.dir, self.port = root / "redis", free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_redis(self.dir, self.port)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        if sig == signal.SIGTERM:
            stop_redis(self.proc)
        else:
            self.proc.send_signal(sig)
            self.proc.wait(30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    srv.start()
    yield srv
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop(signal.SIGKILL)


async def test_the_fence_holds_when_redis_loses_the_newer_epoch(
    server: Server, tmp_path: Path
) -> None:
    reservations = tmp_path / "reservations.json"
    c1, c2 = connect(server.url), connect(server.url)
    old = fencing_allocator(c1, reservations)
    await old.claim()
    before = await numbers(old)
    server.stop()  # a copy of Redis' files as they are now: the old epoch only
    shutil.copytree(server.dir, tmp_path / "older")
    server.start()
    new = fencing_allocator(c2, reservations)
    await retrying(new.claim)
    middle = await retrying(lambda: numbers(new))
    server.stop(signal.SIGKILL)  # Redis comes back without the newer epoch
    shutil.rmtree(server.dir)
    shutil.copytree(tmp_path / "older", server.dir)
    server.start()
    assert stored_epoch(server.port, old.epoch_key) == old.epoch
    with pytest.raises(Fenced):
        await retrying(lambda: old.allocate("acme", 1))
    after = await retrying(lambda: numbers(new))
    handed = before + middle + after
    assert len(set(handed)) == len(handed)
    assert min(after) > max(before + middle)
    assert stored_epoch(server.port, new.epoch_key) == new.epoch
    for alloc in (old, new):
        await alloc.stop()
    await c1.aclose()
    await c2.aclose()
