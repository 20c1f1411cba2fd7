"""The verifiable log the worker writes (real redis-server and chDB), and tampering with it.

Each kind of damage is made by changing the store directly, as an intruder
with write access to ClickHouse would, and ``verify`` must name the first bad
position and the kind. Proofs built from the store are checked by the
standalone verifier, which needs nothing but the checkpoint's public key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from auditpipe_common.store import Store
from auditpipe_common.store.logaudit import LogReport, audit_stored_log
from auditpipe_common.store.logproofs import consistency_bundle, inclusion_bundle
from auditpipe_common.store.logtables import LogTables
from auditpipe_common.streams import shard_for, stream_key
from auditpipe_common.timeutil import now_us
from auditpipe_common.tlog import (
    Checkpoint,
    CompactRange,
    ConsistencyBundle,
    Damage,
    InclusionBundle,
    Signer,
    Verifier,
    generate_key_file,
    leaf_hash,
    load_private_key,
    log_origin,
    sign_checkpoint,
    verifier_key,
    verify_consistency_bundle,
    verify_inclusion_bundle,
)
from auditpipe_worker.batch import Entry
from auditpipe_worker.consumer import Worker
from auditpipe_worker.sink import OwnershipLost
from services.worker.tests.helpers import SHARDS, count, events, publish, run_until, settings

pytestmark = pytest.mark.integration

ORIGIN = log_origin("test", "acme")
SIZE = 90


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "log.pem"
    generate_key_file(path)
    return path


@pytest.fixture
def verifiers(key_file: Path) -> list[Verifier]:
    return [Verifier.parse(verifier_key(load_private_key(key_file), ORIGIN))]


async def write_log(redis: Redis, redis_url: str, store: Store, key_file: Path) -> Worker:
    """Three batches of 30 events of acme (and some of globex) through a worker."""
    for start in (1, 31, 61):
        await publish(redis, events("acme", 30, start=start))
        await publish(redis, events("globex", 5, start=start))
    worker = Worker(
        settings(
            redis_url, store, "w1", log_deployment="test", log_key_files=[key_file],
            checkpoint_events=40, lease_ms=5000, read_count=2, batch_rows=20,
        ),
        redis, store,
    )  # fmt: skip
    await run_until(worker, lambda: worker.totals.stored >= SIZE + 15)  # stopping signs the rest
    return worker


def verify(store: Store, verifiers: list[Verifier]) -> LogReport:
    return audit_stored_log(LogTables(store), "acme", ORIGIN, verifiers, now_us())


@pytest.fixture
async def log_store(
    redis: Redis, redis_url: str, store: Store, key_file: Path, verifiers: list[Verifier]
) -> Store:
    """A store holding an intact, checkpointed log of SIZE events for acme."""
    await write_log(redis, redis_url, store, key_file)
    report = verify(store, verifiers)
    assert report.ok, report
    assert (report.size, report.verified_size, report.rows) == (SIZE, SIZE, SIZE)
    assert report.checkpoints >= 2  # one every 40 events, one at the end
    return store


def test_positions_are_gap_free_and_unique_per_tenant(log_store: Store) -> None:
    for tenant, n in (("acme", SIZE), ("globex", 15)):
        sql = f"SELECT log_index FROM {log_store.table} WHERE tenant = {{t:String}}"  # noqa: S608
        rows = log_store.query_rows(sql, {"t": tenant})
        assert sorted(int(r[0]) for r in rows) == list(range(n))


def damage(store: Store, sql: str) -> None:
    store.command(sql.format(events=store.table, db=store.database))


@pytest.mark.parametrize(
    ("change", "kind", "position"),
    [
        ("ALTER TABLE {events} UPDATE actor_id = 'mallory' WHERE log_index = 17", "edited", 17),
        ("ALTER TABLE {events} DELETE WHERE tenant = 'acme' AND log_index = 17", "deleted", 17),
        (
            "ALTER TABLE {events} UPDATE log_index = if(log_index = 10, 11, 10) "
            "WHERE tenant = 'acme' AND log_index IN (10, 11)",
            "edited",
            10,
        ),
        (
            "INSERT INTO {events} SELECT * REPLACE (concat(idempotency_key, '-x') AS "
            "idempotency_key) FROM {events} WHERE tenant = 'acme' AND log_index = 17",
            "inserted",
            17,
        ),
        (
            "ALTER TABLE {events} DELETE WHERE tenant = 'acme' AND log_index >= 80; "
            "ALTER TABLE {db}.log_batches DELETE WHERE tenant = 'acme' AND start >= 60",
            "truncated",
            60,
        ),
        ("ALTER TABLE {db}.checkpoints UPDATE note = replace(note, '\n9', '\n8') "
         "WHERE tenant = 'acme'", "bad_checkpoint", None),
    ],
    ids=["edited field", "deleted row", "reordered rows", "inserted row", "truncated tail",
         "forged checkpoint"],
)  # fmt: skip
def test_tampering_is_found_at_the_first_bad_position(
    log_store: Store, verifiers: list[Verifier], change: str, kind: str, position: int | None
) -> None:
    for statement in change.split("; "):
        damage(log_store, statement)
    report = verify(log_store, verifiers)
    assert not report.ok
    assert report.finding is not None
    assert report.finding.kind == Damage(kind)
    if position is not None:
        assert report.finding.position == position


def test_a_row_and_its_record_changed_together_break_the_signed_root(
    log_store: Store, verifiers: list[Verifier]
) -> None:
    """The intruder also rewrites the recorded leaf hash: the checkpoint's root gives it away."""
    tables = LogTables(log_store)
    [(pos, ev)] = tables.events_at("acme", 17, 18)
    ev.actor.id = "mallory"
    forged = leaf_hash(ev, pos)
    batch = next(b for b in tables.batches("acme") if b.start <= pos < b.end)
    offset = (pos - batch.start) * 32
    hashes = batch.leaf_hashes[:offset] + forged + batch.leaf_hashes[offset + 32 :]
    damage(log_store, "ALTER TABLE {events} UPDATE actor_id = 'mallory' WHERE log_index = 17")
    log_store.command(
        f"ALTER TABLE {log_store.database}.log_batches UPDATE leaf_hashes = {{h:String}} "
        "WHERE tenant = 'acme' AND start = {s:UInt64}",
        {"h": hashes, "s": batch.start},
    )
    report = verify(log_store, verifiers)
    assert report.finding is not None
    assert report.finding.kind == Damage.ROOT_MISMATCH
    assert report.finding.position is not None
    assert report.finding.position <= 17


def test_a_checkpoint_signed_by_another_key_is_refused(
    log_store: Store, verifiers: list[Verifier], tmp_path: Path
) -> None:
    other = generate_key_file(tmp_path / "other.pem")
    forged = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x00" * 32, now_us()), [Signer(ORIGIN, other)])
    LogTables(log_store).add_checkpoint("acme", 5, b"\x00" * 32, now_us(), forged)
    report = verify(log_store, verifiers)
    assert report.finding is not None
    assert report.finding.kind == Damage.BAD_CHECKPOINT


def test_proofs_from_the_store_verify_offline(log_store: Store, verifiers: list[Verifier]) -> None:
    tables = LogTables(log_store)
    [(_, ev)] = tables.events_at("acme", 33, 34)
    bundle = inclusion_bundle(tables, "acme", ev.idempotency_key)
    proven = verify_inclusion_bundle(
        InclusionBundle.loads(bundle.dumps()), verifiers, origin=ORIGIN
    )
    assert proven.index == 33
    assert proven.event.idempotency_key == ev.idempotency_key
    sizes = [c.size for c in tables.checkpoints("acme")]
    consistency = consistency_bundle(tables, "acme", sizes[0], sizes[-1])
    result = verify_consistency_bundle(
        ConsistencyBundle.loads(consistency.dumps()), verifiers, origin=ORIGIN
    )
    assert (result.old.size, result.new.size) == (sizes[0], sizes[-1])


def test_a_proof_for_a_changed_row_does_not_verify(
    log_store: Store, verifiers: list[Verifier]
) -> None:
    tables = LogTables(log_store)
    [(_, ev)] = tables.events_at("acme", 17, 18)
    damage(log_store, "ALTER TABLE {events} UPDATE actor_id = 'mallory' WHERE log_index = 17")
    bundle = inclusion_bundle(tables, "acme", ev.idempotency_key)
    with pytest.raises(Exception, match="inclusion"):
        verify_inclusion_bundle(InclusionBundle.loads(bundle.dumps()), verifiers, origin=ORIGIN)


async def test_rows_past_retention_may_go_and_the_rest_still_verifies(
    redis: Redis, redis_url: str, store: Store, key_file: Path, verifiers: list[Verifier]
) -> None:
    """Old rows dropped by the TTL leave their recorded hashes; a fresh row may not vanish."""
    day = 86_400_000_000
    stale = events("acme", 20)
    for ev in stale:
        ev.received_at = now_us() - 10 * day
    await publish(redis, stale)
    await publish(redis, events("acme", 10, start=21))
    worker = Worker(
        settings(redis_url, store, "w1", log_deployment="test", log_key_files=[key_file],
                 tenant_retention_days={"acme": 1}),
        redis, store,
    )  # fmt: skip
    await run_until(worker, lambda: worker.totals.stored >= 30)
    store.command(f"OPTIMIZE TABLE {store.table} FINAL")  # applies the TTL now
    report = verify(store, verifiers)
    assert report.ok, report
    assert (report.expired, report.rows, report.verified_size) == (20, 10, 30)
    damage(store, "ALTER TABLE {events} DELETE WHERE tenant = 'acme' AND log_index = 25")
    report = verify(store, verifiers)
    assert report.finding is not None
    assert (report.finding.kind, report.finding.position) == (Damage.DELETED, 25)


def test_a_head_rebuilt_from_the_store_matches_the_signed_root(log_store: Store) -> None:
    """What the worker reads back after Redis lost its heads is exactly the signed tree."""
    tables = LogTables(log_store)
    latest = tables.latest_batch("acme")
    assert latest is not None
    head = CompactRange.from_bytes(latest.state)
    hashes = tables.leaf_hashes("acme", 0, head.size)
    rebuilt = CompactRange()
    rebuilt.extend(hashes)
    assert (rebuilt.size, rebuilt.root()) == (SIZE, head.root())


async def test_a_row_the_store_refuses_leaves_a_tombstone_not_a_hole(
    redis: Redis, redis_url: str, store: Store, key_file: Path, verifiers: list[Verifier]
) -> None:
    """The row passes the worker's checks but the store refuses it after its position was given."""
    store.command(
        f"ALTER TABLE {store.table} ADD CONSTRAINT no_mallory CHECK actor_id != 'mallory'"
    )
    batch = events("acme", 5)
    batch[2].actor.id = "mallory"
    await publish(redis, batch)
    worker = Worker(
        settings(redis_url, store, "w1", log_deployment="test", log_key_files=[key_file]),
        redis, store,
    )  # fmt: skip
    await run_until(worker, lambda: worker.totals.stored + worker.totals.dead >= 5)
    assert (worker.totals.stored, worker.totals.dead) == (4, 1)
    dead = await redis.xrange("auditpipe:deadletter")
    assert len(dead) == 1
    assert b"no_mallory" in dead[0][1][b"reason"]
    rows = LogTables(store).events_at("acme", 0, 10)
    assert [pos for pos, _ in rows] == [0, 1, 2, 3, 4]
    stone = rows[2][1]
    assert (stone.event, stone.idempotency_key, stone.seq) == (
        "auditpipe.rejected",
        batch[2].idempotency_key,
        batch[2].seq,
    )
    report = verify(store, verifiers)
    assert report.ok, report
    assert report.verified_size == 5


async def _owner_says_yes() -> bool:
    return True  # a stale worker that believes it still owns the shard


async def test_a_worker_whose_lease_passed_on_can_never_extend_the_log(
    redis: Redis, redis_url: str, store: Store, key_file: Path, verifiers: list[Verifier]
) -> None:
    """The fence: positions are committed in Redis only under the shard lease."""
    lease = f"auditpipe:lease:{shard_for('acme', SHARDS)}"
    stream = stream_key("auditpipe", shard_for("acme", SHARDS))
    log_settings = {"log_deployment": "test", "log_key_files": [key_file]}
    stale = Worker(settings(redis_url, store, "a", **log_settings), redis, store)
    first = events("acme", 10)
    await redis.set(lease, "a", px=60_000)
    entry = Entry(stream, await publish(redis, first), b"", first)
    await stale._sink.write([entry], _owner_says_yes)
    await redis.set(lease, "b", px=60_000)  # "a" paused; "b" owns the shard now
    second = events("acme", 10, start=11)
    entry = Entry(stream, await publish(redis, second), b"", second)
    with pytest.raises(OwnershipLost):
        await stale._sink.write([entry], _owner_says_yes)
    assert count(store, "acme")["count"] == 10  # nothing of the stale batch was stored
    await redis.delete(lease)
    fresh = Worker(settings(redis_url, store, "b", **log_settings), redis, store)
    await run_until(fresh, lambda: fresh.totals.stored >= 10)
    report = verify(store, verifiers)
    assert report.ok, report
    assert (report.size, report.verified_size) == (20, 20)


async def test_a_rotated_key_leaves_old_checkpoints_verifiable(
    redis: Redis, redis_url: str, store: Store, key_file: Path, tmp_path: Path
) -> None:
    """Key A signs, then A and B during the rotation, then B alone; trusting A and B verifies."""
    new_key = tmp_path / "new.pem"
    generate_key_file(new_key)
    for n, keys in enumerate(([key_file], [key_file, new_key], [new_key])):
        await publish(redis, events("acme", 10, start=1 + 10 * n))
        worker = Worker(
            settings(redis_url, store, f"w{n}", log_deployment="test", log_key_files=keys),
            redis, store,
        )  # fmt: skip
        await run_until(worker, lambda w=worker: w.totals.stored >= 10)  # type: ignore[misc]
    trusted = [
        Verifier.parse(verifier_key(load_private_key(k), ORIGIN)) for k in (key_file, new_key)
    ]
    report = verify(store, trusted)
    assert report.ok, report
    assert (report.verified_size, report.checkpoints) == (30, 3)
    only_new = verify(store, trusted[1:])  # the first checkpoint was signed by A alone
    assert only_new.finding is not None
    assert (only_new.finding.kind, only_new.finding.position) == (Damage.BAD_CHECKPOINT, 10)


async def test_rows_stored_but_not_recorded_are_rolled_forward_when_redis_lost_the_head(
    log_store: Store, redis: Redis, redis_url: str, key_file: Path, verifiers: list[Verifier]
) -> None:
    """A crash between the insert and its record, with Redis' heads and intents lost too."""
    damage(log_store, "ALTER TABLE {db}.log_batches DELETE WHERE tenant = 'acme' AND start >= 60")
    for key in await redis.keys("auditpipe:tlog:*"):
        await redis.delete(key)
    await publish(redis, events("acme", 10, start=91))
    worker = Worker(
        settings(redis_url, log_store, "w2", log_deployment="test", log_key_files=[key_file]),
        redis, log_store,
    )  # fmt: skip
    await run_until(worker, lambda: worker.totals.stored >= 10)
    report = verify(log_store, verifiers)
    assert report.ok, report
    assert (report.size, report.rows, report.verified_size) == (SIZE + 10, SIZE + 10, SIZE + 10)
