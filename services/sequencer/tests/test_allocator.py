"""Range allocation on a real redis-server: unique, increasing, coalesced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from auditpipe_sequencer.allocator import RangeAllocator
from auditpipe_sequencer.reservations import FileReservations

pytestmark = pytest.mark.integration


async def test_concurrent_requests_get_disjoint_ranges_in_few_round_trips(
    redis_url: str, tmp_path: Path
) -> None:
    redis = Redis.from_url(redis_url)
    alloc = RangeAllocator(redis, FileReservations(tmp_path / "r.json"))
    alloc.start()
    try:
        ranges = await asyncio.gather(*(alloc.allocate("acme", 1 + i % 7) for i in range(300)))
    finally:
        await alloc.stop()
        await redis.aclose()
    numbers = [n for first, last in ranges for n in range(first, last + 1)]
    assert len(numbers) == len(set(numbers)) == sum(1 + i % 7 for i in range(300))
    assert min(numbers) == 1
    assert all(last - first + 1 == 1 + i % 7 for i, (first, last) in enumerate(ranges))
    assert alloc.round_trips < 300 / 5  # many callers served per Redis call


async def test_tenants_have_independent_counters(redis_url: str, tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url)
    alloc = RangeAllocator(redis, FileReservations(tmp_path / "r.json"))
    alloc.start()
    try:
        a1, b1, a2 = await asyncio.gather(
            alloc.allocate("a", 5), alloc.allocate("b", 5), alloc.allocate("a", 5)
        )
    finally:
        await alloc.stop()
        await redis.aclose()
    assert (a1, a2, b1) == ((1, 5), (6, 10), (1, 5))


async def test_floor_from_a_propagated_clock_is_respected(redis_url: str, tmp_path: Path) -> None:
    redis = Redis.from_url(redis_url)
    alloc = RangeAllocator(redis, FileReservations(tmp_path / "r.json"))
    alloc.start()
    try:
        first, _ = await alloc.allocate("acme", 3)
        after_floor, _ = await alloc.allocate("acme", 1, after=1_000)
        later, _ = await alloc.allocate("acme", 1)
    finally:
        await alloc.stop()
        await redis.aclose()
    assert first == 1
    assert after_floor == 1_001
    assert later == 1_002


async def test_two_sequencer_instances_never_hand_out_the_same_number(
    redis_url: str, tmp_path: Path
) -> None:
    r1, r2 = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a1 = RangeAllocator(r1, FileReservations(tmp_path / "r.json"))
    a2 = RangeAllocator(r2, FileReservations(tmp_path / "r.json"))
    a1.start()
    a2.start()
    try:
        results = await asyncio.gather(
            *(a.allocate("acme", 10) for _ in range(50) for a in (a1, a2))
        )
    finally:
        await a1.stop()
        await a2.stop()
        await r1.aclose()
        await r2.aclose()
    numbers = [n for first, last in results for n in range(first, last + 1)]
    assert len(numbers) == len(set(numbers)) == 1000
