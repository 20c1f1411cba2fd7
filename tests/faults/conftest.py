"""Collects every scenario's audit and writes the fault matrix to docs/reliability.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults import matrix
from tests.faults.harness import Audit

RESULTS: list[Audit] = []
DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@pytest.fixture
def record() -> list[Audit]:
    """Where a scenario puts its audit for the matrix."""
    return RESULTS


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Update the matrix in docs/reliability.md with the scenarios of this run."""
    if not RESULTS or os.environ.get("AUDITPIPE_NO_MATRIX"):
        return
    from tests.faults.test_fault_matrix import MATRIX_ROWS

    text = DOC.read_text() if DOC.exists() else "# Reliability\n"
    DOC.write_text(matrix.update(text, RESULTS, MATRIX_ROWS))
