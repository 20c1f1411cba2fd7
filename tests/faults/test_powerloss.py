"""Finding the durable length of the AOF in an strace log (no servers needed)."""

from __future__ import annotations

from tests.faults.powerloss import last_fsync

AOF = "8</r/appendonlydir/appendonly.aof.1.incr.aof>"


def test_the_cut_keeps_what_the_last_completed_fsync_covered() -> None:
    lines = [
        f'10  1.000 write({AOF}, ""..., 50) = 50',
        f"11  1.100 fdatasync({AOF}) = 0",  # covers 100 + 50
        f'10  1.200 write({AOF}, ""..., 30) = 30',
        f"11  2.100 fdatasync({AOF} <unfinished ...>",  # begins at 180
        f'10  2.150 write({AOF}, ""..., 7 <unfinished ...>',  # still running: not counted
        "11  2.160 <... fdatasync resumed>) = 0",
        "10  2.170 <... write resumed>) = 7",
        f"11  3.100 fdatasync({AOF}) = -1 EIO (Input/output error)",  # failed: covers nothing
        f"11  4.100 fdatasync({AOF} <unfinished ...>",  # never completed: the power went
    ]
    assert last_fsync(lines, 100) == (2.1, 180)


def test_without_a_completed_fsync_only_what_was_there_before_tracing_counts() -> None:
    assert last_fsync([f'10  1.000 write({AOF}, ""..., 50) = 50'], 100) == (0.0, 100)
