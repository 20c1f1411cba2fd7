"""Session fixtures of the e2e suite: a cluster, volumes, the chart, the operator.

The cluster is ``$KUBECONFIG``'s when that is set, else a local control plane
(etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, built by
``scripts/controlplane/build.sh``) started for the session. On the local control
plane the pods are kwok fakes: Deployments and StatefulSets get Running, Ready
pods, but no container runs (these machines have no container runtime); the
operator runs out of cluster as the chart's ServiceAccount. On another cluster
the chart's own operator Deployment runs (``AUDITPIPE_E2E_OPERATOR=process``
runs it out of cluster there too), and ``AUDITPIPE_E2E_IMAGE_TAG`` selects the
images (see ``scripts/e2e-kind.sh``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster, wait_until
from tests.e2e.controlplane import ControlPlane, default_bin_dir
from tests.e2e.operators import InClusterOperator, Operator, OperatorProcess
from tests.e2e.pipelines import KIND, Namespaces
from tests.e2e.release import NAMESPACE, RELEASE, install
from tests.e2e.volumes import provide_volumes

KWOK_NODE = "kwok.x-k8s.io/node"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``$KUBECONFIG``'s cluster, else a local control plane for this session."""
    bin_dir = default_bin_dir()
    given = os.environ.get("KUBECONFIG")
    if given:
        yield Cluster(Path(given), bin_dir if bin_dir.is_dir() else None)
        return
    with ControlPlane(tmp_path_factory.mktemp("k8s"), bin_dir) as plane:
        assert plane.kwok_enabled, "kwok is missing: run scripts/controlplane/build.sh"
        yield Cluster(plane.kubeconfig, plane.bin_dir, env=plane.env())


@pytest.fixture(scope="session")
def volumes(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Persistent volumes for the pipelines' claims when the cluster has no provisioner."""
    with provide_volumes(cluster, tmp_path_factory.mktemp("volumes")):
        yield


@pytest.fixture(scope="session")
def release(cluster: Cluster) -> Iterator[str]:
    """The chart, installed with ``helm install --wait``; its namespace."""
    install(cluster)
    yield NAMESPACE
    cluster.run("helm", "uninstall", RELEASE, "-n", NAMESPACE, check=False)


@pytest.fixture(scope="session")
def operator(
    cluster: Cluster, release: str, volumes: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    """The operator, running (out of cluster as the chart's ServiceAccount on kwok)."""
    mode = os.environ.get("AUDITPIPE_E2E_OPERATOR")
    if mode is None:
        mode = "in-cluster" if os.environ.get("KUBECONFIG") else "process"
    workdir = tmp_path_factory.mktemp("operator")
    if mode == "process":
        running: Operator = OperatorProcess(cluster, release, RELEASE, workdir)
    else:
        running = InClusterOperator(cluster, release, RELEASE)
    running.start()
    try:
        yield running
        # Every test namespace is deleted by now, without waiting: their pipelines must go.
        wait_until(lambda: not cluster.items(KIND, None), "every pipeline to be deleted")
    finally:
        running.stop()


@pytest.fixture(scope="session")
def fake_pods_only(cluster: Cluster) -> None:
    """Skip unless kwok fakes the pods (a kubelet would overwrite a staged pod status)."""
    nodes = cluster.items("nodes", None)
    if not any(n["metadata"].get("annotations", {}).get(KWOK_NODE) == "fake" for n in nodes):
        pytest.skip("stages pod readiness by hand: needs kwok's fake pods")


@pytest.fixture
def namespaces(cluster: Cluster, operator: Operator) -> Iterator[Namespaces]:
    """Fresh namespaces for a test (deleted afterwards); the operator is running."""
    spaces = Namespaces(cluster)
    try:
        yield spaces
    finally:
        spaces.delete_all()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """A failed test's report ends with the operator's last log lines."""
    report: pytest.TestReport = yield
    running = getattr(item, "funcargs", {}).get("operator")
    if report.failed and running is not None:
        report.sections.append(("operator log (last lines)", running.tail()))
    return report
