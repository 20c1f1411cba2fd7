"""The generated CRD: structural, defaults equal to the models', files up to date."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from auditpipe_operator.api import AuditPipelineSpec
from auditpipe_operator.crdgen.__main__ import main
from auditpipe_operator.crdgen.crd import build_crd
from auditpipe_operator.crdgen.render import CHART_TEMPLATE, CRD_FILE, render_files

REPO = Path(__file__).resolve().parents[2]


def _schema() -> dict[str, Any]:
    version: dict[str, Any] = build_crd()["spec"]["versions"][0]
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key not in ("default", "enum", "x-kubernetes-validations"):
                yield from _nodes(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nodes(value, f"{path}[{index}]")


def _apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """What the API server's defaulting does to ``value`` (objects only)."""
    if not isinstance(value, dict) or "properties" not in schema:
        return value
    for name, sub in schema["properties"].items():
        if name not in value and "default" in sub:
            value[name] = copy.deepcopy(sub["default"])
        if name in value:
            value[name] = _apply_defaults(sub, value[name])
    return value


def test_schema_is_structural() -> None:
    for path, node in _nodes(_schema()):
        assert "$ref" not in node, path
        assert "title" not in node, path
        assert node.get("type") != "null", path
        if "properties" in node:
            assert node.get("type") == "object", path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string") is True, path
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path


def test_api_server_defaults_equal_the_model_defaults() -> None:
    spec_schema = _schema()["properties"]["spec"]
    defaulted = _apply_defaults(spec_schema, copy.deepcopy(spec_schema["default"]))
    expected = AuditPipelineSpec().model_dump(by_alias=True, exclude_none=True)
    assert defaulted == expected
    assert AuditPipelineSpec.model_validate(defaulted) == AuditPipelineSpec()


def test_crd_shape() -> None:
    crd = build_crd()
    assert crd["metadata"]["name"] == "auditpipelines.auditpipe.dev"
    assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert crd["spec"]["scope"] == "Namespaced"
    assert "ap" in crd["spec"]["names"]["shortNames"]
    version = crd["spec"]["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Ready", "Ingest", "Workers", "Age"]


def test_cel_rules_and_list_maps_are_present() -> None:
    schema = _schema()
    spec = schema["properties"]["spec"]["properties"]
    rules = [
        rule["rule"]
        for _, node in _nodes(schema)
        for rule in node.get("x-kubernetes-validations", [])
    ]
    assert "size(self.metadata.name) <= 40" in rules
    assert any("self.mode != 'external'" in rule for rule in rules)
    assert spec["streamShards"]["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    tamper = [r["rule"] for r in spec["tamperEvidence"]["x-kubernetes-validations"]]
    assert "has(self.signingKeySecret) == has(self.publicKeysConfigMap)" in tamper
    assert any("oldSelf.deployment" in rule for rule in tamper)
    assert spec["tamperEvidence"]["properties"]["logKeys"]["x-kubernetes-list-type"] == "set"
    per_tenant = spec["retention"]["properties"]["perTenant"]
    assert per_tenant["x-kubernetes-list-map-keys"] == ["tenant"]
    conditions = schema["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_status_schema_has_no_secret_fields() -> None:
    status = _schema()["properties"]["status"]["properties"]
    assert set(status) == {
        "observedGeneration",
        "conditions",
        "components",
        "endpoints",
        "redisPrimary",
        "credentialsSecret",
        "tamperEvidence",
    }
    names = status["tamperEvidence"]["properties"]
    assert set(names) == {"deployment", "signingKeySecret", "publicKeysConfigMap"}


def test_generated_files_are_up_to_date() -> None:
    for relative, text in render_files().items():
        assert (REPO / relative).read_text() == text, f"{relative}: run make generate"


def test_chart_template_wraps_the_same_crd() -> None:
    files = render_files()
    chart = files[CHART_TEMPLATE]
    assert chart.splitlines()[2] == "{{- if .Values.crds.install }}"
    body = chart.split("{{- if .Values.crds.install }}\n", 1)[1].rsplit("{{- end }}", 1)[0]
    assert yaml.safe_load(body) == yaml.safe_load(files[CRD_FILE]) == build_crd()


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0
    (tmp_path / CRD_FILE).write_text("stale\n")
    assert main(["--root", str(tmp_path), "--check"]) == 1
