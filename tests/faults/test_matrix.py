"""The writer of the results table keeps results, and nothing else, from earlier runs."""

from __future__ import annotations

from tests.faults import matrix
from tests.faults.harness import Audit

DOC = """# Reliability

| scenario | what is done |
| --- | --- |
| kill it | kill it |

<!-- fault-matrix:start -->
Last updated long ago.

| scenario | sent | acknowledged | stored | duplicated | lost | rolled back with Redis | seq repeats | order violations | missing, not reported | logs damaged | loss window ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| kill it | 10 | 10 | 10 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
| kill it harder | ingest runs with a pasted description \\| and a pipe |
| renamed scenario | 5 | 5 | 5 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
| restart it | 7 | 7 | 7 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
<!-- fault-matrix:end -->

## After the table
"""  # noqa: E501 - the header is one table row


def audit(name: str, sent: int) -> Audit:
    return Audit(name, sent, sent, sent, 0, 0, 0, 0, 0, 0, 0, 0)


def table(text: str) -> list[str]:
    block = text.split(matrix.MARK_START)[1].split(matrix.MARK_END)[0]
    return [line for line in block.splitlines() if line.startswith("| ")][2:]


def test_a_run_replaces_its_rows_keeps_the_others_and_drops_foreign_lines() -> None:
    known = {"kill it", "kill it harder", "restart it"}
    text = matrix.update(DOC, [audit("kill it harder", 3)], known)
    assert table(text) == [
        "| kill it | 10 | 10 | 10 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| kill it harder | 3 | 3 | 3 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
        "| restart it | 7 | 7 | 7 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    ]
    assert text.startswith(DOC.split(matrix.MARK_START)[0])
    assert text.endswith(f"{matrix.MARK_END}\n\n## After the table\n")


def test_a_document_without_markers_gets_a_table() -> None:
    text = matrix.update("# Reliability\n", [audit("kill it", 1)], {"kill it"})
    assert table(text) == ["| kill it | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |"]
