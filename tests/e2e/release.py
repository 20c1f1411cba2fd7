"""The chart's release the suite installs, and the values every install and upgrade uses."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.cluster import CHART, Cluster
from tests.e2e.pipelines import IMAGE_TAG

RELEASE = "auditpipe"
NAMESPACE = "auditpipe-system"
# A fast resync, so that the status follows the pods within seconds.
VALUES = {
    "operator.resyncSeconds": "2",
    "operator.retrySeconds": "1",
    "operator.logFormat": "plain",
}


def values() -> list[str]:
    """``--set`` arguments of every helm install and upgrade in the suite."""
    pairs = {**VALUES, **({"image.tag": IMAGE_TAG} if IMAGE_TAG else {})}
    return [arg for key, value in pairs.items() for arg in ("--set", f"{key}={value}")]


def install(cluster: Cluster, chart: Path = CHART) -> None:
    """``helm install --wait`` (the namespace is created if needed)."""
    cluster.helm(
        "install", RELEASE, str(chart), "-n", NAMESPACE, "--create-namespace", *values(),
        "--wait", "--timeout", "3m",
    )  # fmt: skip


def upgrade(cluster: Cluster, chart: Path = CHART) -> None:
    """``helm upgrade --wait``."""
    cluster.helm(
        "upgrade", RELEASE, str(chart), "-n", NAMESPACE, *values(), "--wait", "--timeout", "3m"
    )
