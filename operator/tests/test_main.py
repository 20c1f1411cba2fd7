"""The kopf registrations and the operator settings."""

from __future__ import annotations

import logging

import kopf
import pytest

from auditpipe_operator import main
from auditpipe_operator.config import OperatorConfig


def test_handlers_are_registered() -> None:
    registry = kopf.get_default_registry()
    ids = {handler.id for handler in registry._changing.get_all_handlers()}
    assert {"reconcile", "finalize"} <= ids
    timers = {handler.id for handler in registry._spawning.get_all_handlers()}
    assert "resync" in timers
    watching = {handler.id for handler in registry._watching.get_all_handlers()}
    assert "drift-deployments" in watching
    assert "drift-secrets" not in watching


def test_configure_sets_finalizer_storage_and_selectors() -> None:
    settings = kopf.OperatorSettings()
    main.configure(settings)
    assert settings.persistence.finalizer == "auditpipe.dev/finalizer"
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    selectors = list(settings.watching.label_selectors.values())
    assert selectors
    assert set(selectors) == {"app.kubernetes.io/managed-by=auditpipe-operator"}


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPIPE_OPERATOR_RESYNC_SECONDS", "5")
    monkeypatch.setenv("AUDITPIPE_OPERATOR_NAMESPACES", '["a","b"]')
    config = OperatorConfig()
    assert config.resync_seconds == 5.0
    assert config.namespaces == ["a", "b"]
    assert config.field_manager == "auditpipe-operator"


def test_bad_config_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPIPE_OPERATOR_RESYNC_SECONDS", "0")
    with pytest.raises(ValueError, match="resync_seconds"):
        OperatorConfig()


def test_routine_success_lines_are_dropped() -> None:
    routine = main.RoutineFilter()

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("kopf.objects", logging.INFO, "", 0, message, None, None)

    assert not routine.filter(record("Handler 'drift-deployments' succeeded."))
    assert not routine.filter(record("Timer 'resync' succeeded."))
    assert routine.filter(record("Handler 'reconcile' succeeded."))
    assert routine.filter(record("restored Service audit-ingest (deleted by hand)"))
