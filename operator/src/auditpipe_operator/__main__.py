"""``python -m auditpipe_operator``: run the operator (standalone, one replica)."""

from __future__ import annotations

import kopf

from auditpipe_operator import main as handlers
from auditpipe_operator.config import OperatorConfig


def run(config: OperatorConfig) -> None:
    """Run kopf with the handlers of :mod:`auditpipe_operator.main` until signalled."""
    kopf.configure(verbose=config.verbose, log_format=kopf.LogFormat[config.log_format.upper()])
    liveness = f"http://0.0.0.0:{config.liveness_port}/healthz" if config.liveness_port else None
    kopf.run(
        standalone=True,
        clusterwide=not config.namespaces,
        namespaces=config.namespaces,
        liveness_endpoint=liveness,
    )


if __name__ == "__main__":
    assert handlers.reconcile_pipeline  # the import registers the handlers
    run(handlers.CONFIG)
