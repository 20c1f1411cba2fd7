"""No number is ever handed out twice or lower, even when Redis loses writes.

A private redis-server is stopped, its data copied (an "older AOF"), more
numbers are handed out, then Redis is SIGKILLed and restarted from the copy:
the counter is back where it was, exactly what losing the last writes does.
The failover case uses a real replica whose link the test holds up, so it
is promoted without the last numbers; old and newly started sequencers then
race on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from auditpipe_cli.redisproc import start_redis, start_replica, stop_redis
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


class Link:
    """A TCP relay between a replica and its primary that the test can hold up and cut.

    While held, what the primary sends stays with the relay; once cut, it is
    gone: the replica lags exactly as one behind a slow network would.
    """

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._open = threading.Event()
        self._open.set()
        self._cut = False
        self._sockets: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._cut:
            try:
                down, _ = self._server.accept()
            except OSError:
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self._target))
            except OSError:  # the primary is gone
                down.close()
                continue
            self._sockets += [down, up]
            threading.Thread(target=self._pump, args=(down, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                self._open.wait()
                if self._cut:
                    return
                dst.sendall(data)

    def hold(self) -> None:
        """Keep everything sent from now on."""
        self._open.clear()

    def cut(self) -> None:
        """Drop what was held and every connection."""
        self._cut = True
        self._open.set()
        for s in (*self._sockets, self._server):
            s.close()


async def follow(client: Redis, port: int) -> None:
    """Point ``client`` at the promoted replica, as a Sentinel-aware client would."""
    pool = client.connection_pool
    await pool.disconnect()
    pool.connection_kwargs["port"] = port
    pool.reset()  # new connections only, to the new address


async def test_failover_to_a_lagging_replica_then_old_and_new_sequencers_race(
    private_redis: RedisProcess, tmp_path: Path
) -> None:
    """A real replica misses the last numbers, is promoted, and three sequencers race on it.

    The replication link is held while both sequencers hand out more
    numbers, so when the primary is SIGKILLed and the replica promoted, its
    counter is behind. Then the two old sequencers and a freshly started one
    (which knows nothing but the durable reservations) allocate concurrently.
    """
    link = Link(private_redis.port)
    replica, follower = start_replica(tmp_path / "replica", free_port(), link.port)
    res_path = tmp_path / "reservations.json"
    clients = [Redis(port=private_redis.port) for _ in range(3)]
    old, new = (
        [RangeAllocator(c, FileReservations(res_path), reserve_block=30) for c in clients[:2]],
        RangeAllocator(clients[2], FileReservations(res_path), reserve_block=30),
    )
    for a in old:
        a.start()
    try:
        before = await asyncio.gather(*(take(a, "acme", 20) for a in old))
        link.hold()
        lost = await asyncio.gather(*(take(a, "acme", 20) for a in old))
        private_redis.stop(signal.SIGKILL)
        link.cut()
        follower.replicaof("NO", "ONE")
        counter = int(follower.get(old[0].counter_key("acme")) or 0)
        assert counter < max(lost[0] + lost[1]), "the replica did not lag"
        port = follower.connection_pool.connection_kwargs["port"]
        for c in clients:
            await follow(c, port)
        new.start()  # a sequencer started after the failover: only the reservations guide it
        after = await asyncio.gather(*(take(a, "acme", 20) for a in (*old, new)))
    finally:
        for a in (*old, new):
            await a.stop()
        for c in clients:
            await c.aclose()
        follower.close()
        stop_redis(replica)
    everything = [n for group in (*before, *lost, *after) for n in group]
    assert len(everything) == len(set(everything)), "a number was handed out twice"
    for i in range(2):
        mine = before[i] + lost[i] + after[i]
        assert mine == sorted(mine), f"sequencer {i} went backwards"
    assert min(n for group in after for n in group) > max(before[0] + before[1] + lost[0] + lost[1])
