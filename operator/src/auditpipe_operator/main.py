"""kopf registrations: thin decorators that hand over to :mod:`auditpipe_operator.handlers`.

Run with ``python -m auditpipe_operator`` (or ``kopf run --standalone -m auditpipe_operator.main``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

import kopf

from auditpipe_operator.api.constants import (
    FINALIZER,
    GROUP,
    LABEL_MANAGED_BY,
    MANAGED_BY,
    PLURAL,
    VERSION,
)
from auditpipe_operator.config import OperatorConfig
from auditpipe_operator.handlers.delete import finalize
from auditpipe_operator.handlers.drift import restore_child
from auditpipe_operator.handlers.reconcile import reconcile
from auditpipe_operator.kube.client import Kube
from auditpipe_operator.kube.session import Session, connect

CONFIG = OperatorConfig()

# Children watched for drift: (group, version, plural). Secrets are not watched (the
# operator only ever creates its Secret), nor ClickHouseInstallations (their CRD may be
# absent); the periodic resync restores those.
CHILD_RESOURCES = (
    ("", "v1", "configmaps"),
    ("", "v1", "services"),
    ("", "v1", "serviceaccounts"),
    ("", "v1", "persistentvolumeclaims"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("autoscaling", "v2", "horizontalpodautoscalers"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("networking.k8s.io", "v1", "ingresses"),
    ("networking.k8s.io", "v1", "networkpolicies"),
)


class RoutineFilter(logging.Filter):
    """Drops kopf's success line for every child event and resync (one per event otherwise)."""

    ROUTINE = re.compile(r"^(Handler 'drift-[a-z]+'|Timer 'resync') succeeded\.$")

    def filter(self, record: logging.LogRecord) -> bool:
        """False for the routine lines."""
        return not self.ROUTINE.match(record.getMessage())


def configure(settings: kopf.OperatorSettings) -> None:
    """Our finalizer and annotations; server-side label selectors for the children.

    Only warnings and errors become Kubernetes Events, so routine work writes nothing.
    """
    settings.posting.level = logging.WARNING
    objects = logging.getLogger("kopf.objects")
    if not any(isinstance(f, RoutineFilter) for f in objects.filters):
        objects.addFilter(RoutineFilter())
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP, v1=False)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration", v1=False
    )
    for group, version, plural in CHILD_RESOURCES:
        key = (group, version, plural) if group else (version, plural)
        settings.watching.label_selectors[key] = f"{LABEL_MANAGED_BY}={MANAGED_BY}"


def _kube(memo: kopf.Memo) -> Kube:
    return cast(Kube, memo["kube"])


@kopf.on.startup()
async def startup(
    settings: kopf.OperatorSettings, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """Configure kopf and open the API client."""
    configure(settings)
    memo["kube"], memo["session"] = connect(logger)


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Close the API client."""
    await cast(Session, memo["session"]).close()


@kopf.on.create(GROUP, VERSION, PLURAL, id="reconcile")
@kopf.on.update(GROUP, VERSION, PLURAL, id="reconcile")
@kopf.on.resume(GROUP, VERSION, PLURAL, id="reconcile")
async def reconcile_pipeline(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """A pipeline was created, changed, or found at start-up."""
    await reconcile(_kube(memo), body, CONFIG, logger)


@kopf.timer(GROUP, VERSION, PLURAL, id="resync", interval=CONFIG.resync_seconds)
async def resync_pipeline(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
    """Periodically: restore drift and refresh the status."""
    await reconcile(_kube(memo), body, CONFIG, logger)


@kopf.on.delete(GROUP, VERSION, PLURAL, id="finalize", retries=CONFIG.delete_retries)
async def delete_pipeline(
    body: kopf.Body, retry: int, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """A pipeline is being deleted."""
    await finalize(_kube(memo), body, retry, CONFIG, logger)


async def child_changed(
    event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """A child was changed or deleted: put it back if it is not as desired."""
    await restore_child(_kube(memo), event.get("type"), dict(body), CONFIG, logger)


for _group, _version, _plural in CHILD_RESOURCES:
    kopf.on.event(
        _group, _version, _plural, id=f"drift-{_plural}", labels={LABEL_MANAGED_BY: MANAGED_BY}
    )(child_changed)
