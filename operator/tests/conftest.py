"""Fixtures of the operator's unit tests: an in-memory API server and a quiet config."""

from __future__ import annotations

import logging

import pytest

from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.kube.memory import MemoryKube


@pytest.fixture
def kube() -> MemoryKube:
    """An empty in-memory API server."""
    return MemoryKube()


@pytest.fixture
def config() -> OperatorConfig:
    """Operator settings with short delays."""
    return OperatorConfig(retry_seconds=1.0, delete_retries=3)


@pytest.fixture
def logger() -> logging.Logger:
    """The logger handlers get (captured by caplog)."""
    return logging.getLogger("auditpipe_operator.tests")
