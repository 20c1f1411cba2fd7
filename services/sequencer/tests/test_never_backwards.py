"""No number is ever handed out twice or lower, even when Redis loses writes.

A private redis-server is stopped, its data copied (an "older AOF"), more
numbers are handed out, then Redis is SIGKILLed and restarted from the copy:
the counter is back where it was, exactly what losing the last writes or
failing over to a lagging replica does.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from auditpipe_cli.redisproc import start_redis
from auditpipe_cli.stack import free_port
from auditpipe_common.redisconn import connect
from auditpipe_sequencer.allocator import RangeAllocator
from auditpipe_sequencer.reservations import FileReservations

pytestmark = [pytest.mark.integration, pytest.mark.faults]


class RedisProcess:
    """A redis-server the test can stop, kill and restart from older data."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "redis"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_redis(self.dir, self.port)
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                subprocess.run(["sleep", "0.05"], check=True)
        client.close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(30)

    def snapshot(self, dest: Path) -> None:
        shutil.copytree(self.dir, dest)

    def restore(self, src: Path) -> None:
        shutil.rmtree(self.dir)
        shutil.copytree(src, self.dir)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.stop(signal.SIGKILL)


async def take(alloc: RangeAllocator, tenant: str, n: int, count: int = 7) -> list[int]:
    out = []
    for _ in range(n):
        first, last = await alloc.allocate(tenant, count)
        out += list(range(first, last + 1))
    return out


async def one_then_other(a1: RangeAllocator, a2: RangeAllocator) -> list[list[int]]:
    """a1 hands out numbers, then a2 does."""
    first = await take(a1, "acme", 20)
    return [first, await take(a2, "acme", 20)]


async def lose_last_writes(server: RedisProcess, tmp: Path, before: object) -> list[int]:
    """Snapshot, run ``before`` (which hands out numbers), kill -9, restore the snapshot."""
    server.stop()
    server.start()
    server.snapshot(tmp / "older")
    handed: list[int] = await before  # type: ignore[misc]
    server.stop(signal.SIGKILL)
    server.restore(tmp / "older")
    server.start()
    return handed


async def test_restart_from_an_older_aof_never_repeats(
    private_redis: RedisProcess, tmp_path: Path
) -> None:
    res = FileReservations(tmp_path / "reservations.json")
    conn = connect(private_redis.url)
    alloc = RangeAllocator(conn, res, reserve_block=50)
    alloc.start()
    try:
        early = await take(alloc, "acme", 10)
        lost = await lose_last_writes(private_redis, tmp_path, take(alloc, "acme", 30))
        later = await take(alloc, "acme", 10)
    finally:
        await alloc.stop()
        await conn.aclose()
    assert min(later) > max(lost) > max(early)
    assert len(set(early + lost + later)) == len(early + lost + later)


async def test_a_restarted_sequencer_resumes_above_everything_handed_out(
    private_redis: RedisProcess, tmp_path: Path
) -> None:
    res_path = tmp_path / "reservations.json"
    conn = connect(private_redis.url)
    first = RangeAllocator(conn, FileReservations(res_path), reserve_block=20)
    first.start()
    handed = await lose_last_writes(private_redis, tmp_path, take(first, "acme", 40))
    await first.stop()  # the sequencer process is gone too
    second = RangeAllocator(conn, FileReservations(res_path), reserve_block=20)
    second.start()
    try:
        after = await take(second, "acme", 5)
    finally:
        await second.stop()
        await conn.aclose()
    assert min(after) > max(handed)


async def test_two_sequencers_racing_across_a_failover_never_collide(
    private_redis: RedisProcess, tmp_path: Path
) -> None:
    res_path = tmp_path / "reservations.json"
    c1, c2 = connect(private_redis.url), connect(private_redis.url)
    a1 = RangeAllocator(c1, FileReservations(res_path), reserve_block=30)
    a2 = RangeAllocator(c2, FileReservations(res_path), reserve_block=30)
    a1.start()
    a2.start()
    try:
        before = await asyncio.gather(take(a1, "acme", 20), take(a2, "acme", 20))
        # The lost writes end with a2's numbers, and a1 is the first to allocate after the
        # failover: a1's own memory is below a2's last numbers, only the reservation is not.
        lost = await lose_last_writes(private_redis, tmp_path, one_then_other(a1, a2))
        after = [await take(a1, "acme", 20)]
        after.append(await take(a2, "acme", 20))
    finally:
        for a in (a1, a2):
            await a.stop()
        for c in (c1, c2):
            await c.aclose()
    per_instance = [before[i] + lost[i] + after[i] for i in range(2)]  # type: ignore[index]
    everything = per_instance[0] + per_instance[1]
    assert len(everything) == len(set(everything)), "a number was handed out twice"
    for numbers in per_instance:
        assert numbers == sorted(numbers), "an instance went backwards"
    assert min(after[0] + after[1]) > max(lost[0] + lost[1])  # type: ignore[index]
