"""Collects every scenario's audit and writes the fault matrix to docs/reliability.md."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest

from tests.faults.harness import Audit

RESULTS: list[Audit] = []
DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
MARK_START = "<!-- fault-matrix:start -->"
MARK_END = "<!-- fault-matrix:end -->"


@pytest.fixture
def record() -> list[Audit]:
    """Where a scenario puts its audit for the matrix."""
    return RESULTS


HEADER = [
    "| scenario | sent | acknowledged | stored | duplicated | lost | rolled back with Redis "
    "| seq repeats | order violations | missing, not reported |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def _row(a: Audit) -> str:
    cells = [a.scenario, a.sent, a.acknowledged, a.stored, a.duplicated, a.lost]
    cells += [a.rolled_back, a.seq_repeats, a.order_violations, a.unreported_missing]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Update the matrix in docs/reliability.md with the scenarios of this run.

    Rows of scenarios this run did not execute are kept, so running one
    scenario (``-k``) refreshes only its own row.
    """
    if not RESULTS or os.environ.get("AUDITPIPE_NO_MATRIX"):
        return
    text = DOC.read_text() if DOC.exists() else f"# Reliability\n\n{MARK_START}\n{MARK_END}\n"
    head, _, rest = text.partition(MARK_START)
    old, _, tail = rest.partition(MARK_END)
    rows = {
        line.split("|")[1].strip(): line
        for line in old.splitlines()
        if line.startswith("| ") and not line.startswith(("| scenario", "| ---"))
    }
    rows.update((a.scenario, _row(a)) for a in RESULTS)
    lines = [
        MARK_START,
        f"Last updated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC "
        f"(`make faults`, {os.cpu_count()} cores).",
        "",
        *HEADER,
        *(rows[name] for name in sorted(rows)),
        MARK_END,
    ]
    DOC.write_text(head + "\n".join(lines) + tail)
