"""``helm upgrade`` with a changed CRD upgrades it; ``helm uninstall`` keeps it and the pipelines.

The changed chart is a copy of ``charts/auditpipe`` whose CRD gains a spec field
and a printer column, as a later release of the chart would. This module runs
last: it uninstalls and reinstalls the release the other modules share.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.e2e.cluster import CHART, Cluster, wait_until
from tests.e2e.operators import Operator
from tests.e2e.pipelines import KIND, Namespaces, apply_example, wait_settled
from tests.e2e.release import RELEASE, install, upgrade

pytestmark = pytest.mark.e2e

CRD = "auditpipelines.auditpipe.dev"
NOTE = {"spec": {"e2eNote": "kept once the CRD knows the field"}}


def changed_chart(root: Path) -> Path:
    """A copy of the chart, version 0.1.1, whose CRD has ``spec.e2eNote`` and a new column."""
    chart = root / "auditpipe"
    shutil.copytree(CHART, chart)
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    (chart / "Chart.yaml").write_text(yaml.safe_dump({**meta, "version": "0.1.1"}))
    template = chart / "templates" / "crd-auditpipelines.yaml"
    lines = template.read_text().splitlines(keepends=True)
    header, body, footer = lines[:3], yaml.safe_load("".join(lines[3:-1])), lines[-1:]
    version = body["spec"]["versions"][0]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["e2eNote"] = {"type": "string", "description": "Added by the upgrade."}
    version["additionalPrinterColumns"].insert(
        3, {"name": "Primary", "type": "string", "jsonPath": ".status.redisPrimary"}
    )
    template.write_text("".join(header) + yaml.safe_dump(body, sort_keys=False) + "".join(footer))
    return chart


def note_kept(cluster: Cluster, namespace: str) -> bool:
    """Whether the API server keeps ``spec.e2eNote`` (it prunes fields its schema lacks)."""
    cluster.patch(KIND, "audit", namespace, NOTE)
    return "e2eNote" in cluster.must_get(KIND, "audit", namespace)["spec"]


@pytest.fixture
def namespace(cluster: Cluster, namespaces: Namespaces) -> str:
    """A namespace with the example pipeline, Ready."""
    name = namespaces.create("upgrade")
    apply_example(cluster, name)
    wait_settled(cluster, name)
    return name


def test_helm_upgrade_upgrades_the_crd(
    cluster: Cluster, release: str, namespace: str, tmp_path: Path
) -> None:
    assert not note_kept(cluster, namespace)
    chart = changed_chart(tmp_path)
    try:
        upgrade(cluster, chart)
        crd = cluster.must_get("crd", CRD)
        columns = [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]
        assert columns == ["Ready", "Ingest", "Workers", "Primary", "Age"]
        assert wait_until(lambda: note_kept(cluster, namespace), "the upgraded schema")
        table = cluster.kubectl("get", "ap", "audit", "-n", namespace).split("\n")
        assert table[1].split()[4] == "audit-redis-0"
        cluster.patch(KIND, "audit", namespace, {"spec": {"worker": {"replicas": 1}}})
        body = wait_settled(cluster, namespace)  # the operator works on
        assert body["status"]["components"]["worker"] == {"desired": 1, "ready": 1}
    finally:
        upgrade(cluster)
    columns = cluster.must_get("crd", CRD)["spec"]["versions"][0]["additionalPrinterColumns"]
    assert "Primary" not in [c["name"] for c in columns]  # and back


def test_uninstall_keeps_the_crd_and_the_pipelines(
    cluster: Cluster, release: str, namespace: str, operator: Operator
) -> None:
    uid = cluster.must_get(KIND, "audit", namespace)["metadata"]["uid"]
    operator.stop()
    cluster.helm("uninstall", RELEASE, "-n", release, "--wait")
    try:
        assert cluster.get("deployment", RELEASE, release) is None
        assert cluster.get("crd", CRD) is not None
        assert cluster.must_get(KIND, "audit", namespace)["metadata"]["uid"] == uid
    finally:
        install(cluster)  # the kept CRD is adopted again
        operator.start()
    cluster.patch(KIND, "audit", namespace, {"spec": {"worker": {"replicas": 3}}})
    body = wait_settled(cluster, namespace)
    assert body["status"]["components"]["worker"] == {"desired": 3, "ready": 3}
