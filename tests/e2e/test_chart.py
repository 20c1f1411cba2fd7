"""The Helm chart against the real API server: lint, server-side dry run, install, RBAC.

On the local control plane the operator Deployment's pod is a kwok fake: it is
scheduled and reported Ready, but no container runs.
"""

from __future__ import annotations

import pytest
import yaml

from tests.e2e.cluster import CHART, Cluster
from tests.e2e.operators import Operator
from tests.e2e.pipelines import Namespaces

pytestmark = pytest.mark.e2e


def test_lint_is_clean(cluster: Cluster) -> None:
    out = cluster.helm("lint", "--strict", str(CHART))
    assert "[WARNING]" not in out
    assert "[ERROR]" not in out


@pytest.mark.parametrize(
    "values", [[], ["--set", "watchNamespaces={NS}", "--set", "crds.install=false"]]
)
def test_rendered_chart_passes_a_server_side_dry_run(
    cluster: Cluster, namespaces: Namespaces, values: list[str]
) -> None:
    namespace = namespaces.create("dry-run")
    values = [v.replace("NS", namespace) for v in values]
    rendered = cluster.helm("template", "dry", str(CHART), "-n", namespace, *values)
    out = cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=rendered)
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    lines = out.strip().splitlines()
    assert len(lines) == len(documents)
    assert all(line.endswith("(server dry run)") for line in lines)
    assert "rolebinding.rbac.authorization.k8s.io/dry-auditpipe" in out


def test_install_created_the_crd_rbac_and_a_ready_operator(
    cluster: Cluster, release: str, operator: Operator
) -> None:
    crd = cluster.must_get("crd", "auditpipelines.auditpipe.dev")
    established = [c for c in crd["status"]["conditions"] if c["type"] == "Established"]
    assert established[0]["status"] == "True"
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    deployment = cluster.must_get("deployment", "auditpipe", release)
    assert deployment["status"]["readyReplicas"] == 1
    assert cluster.must_get("serviceaccount", "auditpipe", release)


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("patch", "deployments.apps", "yes"),
        ("create", "secrets", "yes"),
        ("get", "secrets", "no"),  # the operator creates the credentials, never reads them
        ("list", "pods", "yes"),
        ("delete", "pods", "no"),
        ("patch", "auditpipelines.auditpipe.dev --subresource=status", "yes"),
        ("delete", "auditpipelines.auditpipe.dev", "no"),
    ],
)
def test_the_operator_identity_has_least_privilege(
    cluster: Cluster, release: str, verb: str, resource: str, allowed: str
) -> None:
    account = f"system:serviceaccount:{release}:auditpipe"
    done = cluster.run(
        "kubectl", "auth", "can-i", verb, *resource.split(), "-n", "default", f"--as={account}",
        check=False,
    )  # fmt: skip
    assert done.stdout.strip() == allowed
