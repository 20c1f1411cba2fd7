"""The Helm chart, rendered with a real helm: least-privilege RBAC, CRD, Deployment.

Skipped when no helm binary is found (PATH, or the control plane's build cache).
``helm lint`` and the server-side dry run are in the e2e suite (tests/e2e/test_chart.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditpipe_operator.kube.kinds import kind_info
from auditpipe_operator.resources import MANAGED_KINDS

CHART = Path(__file__).resolve().parents[2] / "charts" / "auditpipe"
FULL = {"get", "list", "watch", "create", "patch", "delete"}


def _helm() -> str | None:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    built = sorted((cache / "auditpipe" / "controlplane").glob("*/bin/helm"))
    return shutil.which("helm") or (str(built[-1]) if built else None)


HELM = _helm()
pytestmark = pytest.mark.skipif(HELM is None, reason="no helm binary")


def _render(*sets: str) -> list[dict[str, Any]]:
    assert HELM is not None
    args = [HELM, "template", "rel", str(CHART), "--namespace", "auditpipe-system"]
    for item in sets:
        args += ["--set", item]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _rules(docs: list[dict[str, Any]], kind: str, name: str) -> dict[tuple[str, str], set[str]]:
    role = next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def _expected() -> dict[tuple[str, str], set[str]]:
    """What the operator's code needs, derived from the kinds it manages."""
    needed: dict[tuple[str, str], set[str]] = {}
    for api_version, kind in MANAGED_KINDS:
        info = kind_info(api_version, kind)
        verbs = FULL - {"watch"} if kind == "ClickHouseInstallation" else FULL
        needed[(info.group, info.plural)] = set(verbs)
    needed[("", "secrets")] = {"create"}
    needed[("", "pods")] = {"list"}  # Redis failover reads the Redis pods' readiness
    needed[("", "events")] = {"create", "patch"}
    needed[("auditpipe.dev", "auditpipelines")] = {"get", "list", "watch", "patch", "update"}
    needed[("auditpipe.dev", "auditpipelines/status")] = {"get", "patch", "update"}
    needed[("auditpipe.dev", "auditpipelines/finalizers")] = {"update"}
    return needed


def test_cluster_role_grants_exactly_what_the_operator_touches() -> None:
    docs = _render()
    assert _rules(docs, "ClusterRole", "rel-auditpipe") == _expected()
    observer = _rules(docs, "ClusterRole", "rel-auditpipe-observer")
    assert observer == {
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"}
    }


def test_watch_namespaces_uses_roles() -> None:
    docs = _render("watchNamespaces={team-a,team-b}")
    roles = [d for d in docs if d["kind"] == "Role"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert not [
        d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "rel-auditpipe"
    ]
    operator = next(d for d in docs if d["kind"] == "Deployment")
    env = {
        e["name"]: e["value"] for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["AUDITPIPE_OPERATOR_NAMESPACES"] == '["team-a","team-b"]'


def test_crd_is_a_kept_template_and_can_be_left_out() -> None:
    crd = next(d for d in _render() if d["kind"] == "CustomResourceDefinition")
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert not [d for d in _render("crds.install=false") if d["kind"] == "CustomResourceDefinition"]
    assert not (CHART / "crds").exists()


def test_operator_deployment_is_single_non_root_and_configured() -> None:
    docs = _render("operator.resyncSeconds=5")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "rel-auditpipe"
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/auditpipe/operator:0.1.0"
    assert container["command"] == ["python", "-m", "auditpipe_operator"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AUDITPIPE_OPERATOR_RESYNC_SECONDS"] == "5"
    assert env["AUDITPIPE_OPERATOR_NAMESPACES"] == "[]"


def test_schema_refuses_bad_values() -> None:
    assert HELM is not None
    args = [HELM, "template", "rel", str(CHART), "--set", "operator.logFormat=xml"]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode != 0
    assert "logFormat" in done.stderr
