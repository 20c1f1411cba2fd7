"""The results table of docs/reliability.md: one row per fault scenario.

The table lives between two markers; :func:`update` rewrites only that part.
Rows of scenarios a run did not execute are kept, so running one scenario
(``-k``) refreshes only its own row; but only well-formed rows of scenarios
the suite still has are kept, so nothing else that lands between the markers
(the header, a row of a renamed scenario, text pasted there by an edit) is
carried into every later run.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable

from tests.faults.harness import Audit

MARK_START = "<!-- fault-matrix:start -->"
MARK_END = "<!-- fault-matrix:end -->"
HEADER = [
    "| scenario | sent | acknowledged | stored | duplicated | lost | rolled back with Redis "
    "| seq repeats | order violations | missing, not reported | logs damaged | loss window ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
COLUMNS = HEADER[0].count("|") - 1


def row(a: Audit) -> str:
    """The table row of one scenario's audit."""
    cells = [a.scenario, a.sent, a.acknowledged, a.stored, a.duplicated, a.lost]
    cells += [a.rolled_back, a.seq_repeats, a.order_violations, a.unreported_missing]
    cells += [a.logs_damaged, a.window_ms]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def kept_row(line: str, known: set[str]) -> tuple[str, str] | None:
    """``(scenario, line)`` if ``line`` is a results row worth keeping, else None.

    Kept: a row of a scenario in ``known``, with the header's columns and a
    count in every numeric cell.
    """
    cells = [c.strip() for c in line.strip().removeprefix("|").removesuffix("|").split("|")]
    if len(cells) != COLUMNS or cells[0] not in known:
        return None
    return (cells[0], line) if all(c.isdigit() for c in cells[1:]) else None


def update(text: str, results: Iterable[Audit], known: Iterable[str]) -> str:
    """``text`` (the whole document) with its table updated by ``results``."""
    if MARK_START not in text:
        text = f"{text.rstrip()}\n\n{MARK_START}\n{MARK_END}\n"
    head, _, rest = text.partition(MARK_START)
    old, _, tail = rest.partition(MARK_END)
    names = set(known)
    rows = dict(kept for line in old.splitlines() if (kept := kept_row(line, names)))
    rows.update((a.scenario, row(a)) for a in results)
    lines = [
        MARK_START,
        f"Last updated {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC "
        f"(`make faults`, {os.cpu_count()} cores).",
        "",
        *HEADER,
        *(rows[name] for name in sorted(rows)),
        MARK_END,
    ]
    return head + "\n".join(lines) + tail
