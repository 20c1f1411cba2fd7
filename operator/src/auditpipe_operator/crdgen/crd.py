"""The ``AuditPipeline`` CustomResourceDefinition, built from the API models."""

from __future__ import annotations

from typing import Any

from auditpipe_operator.api import AuditPipelineSpec, AuditPipelineStatus
from auditpipe_operator.api.base import cel
from auditpipe_operator.api.constants import (
    CRD_NAME,
    GROUP,
    KIND,
    MAX_NAME_LENGTH,
    PLURAL,
    SHORT_NAMES,
    SINGULAR,
    VERSION,
)
from auditpipe_operator.crdgen.schema import Schema, structural_schema

KEEP_ANNOTATION = {"helm.sh/resource-policy": "keep"}

PRINTER_COLUMNS = [
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        "description": "Every component has its replicas ready.",
    },
    {
        "name": "Ingest",
        "type": "integer",
        "jsonPath": ".status.components.ingest.ready",
        "description": "Ready ingest replicas.",
    },
    {
        "name": "Workers",
        "type": "integer",
        "jsonPath": ".status.components.worker.ready",
        "description": "Ready worker replicas.",
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def _without_defaults(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_defaults(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


def status_schema() -> Schema:
    """The status schema (no defaults: only the operator writes it); conditions keyed by type."""
    schema: Schema = _without_defaults(structural_schema(AuditPipelineStatus))
    conditions = schema["properties"]["conditions"]
    conditions["x-kubernetes-list-type"] = "map"
    conditions["x-kubernetes-list-map-keys"] = ["type"]
    return schema


def root_schema() -> Schema:
    """The whole object's schema, with the name-length rule at the root."""
    spec = structural_schema(AuditPipelineSpec)
    spec["default"] = {}
    return {
        "type": "object",
        "description": "An audit pipeline: ingest, sequencer, Redis Streams, workers, "
        "ClickHouse and the query API, reconciled by the auditpipe operator.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status_schema(),
        },
        "x-kubernetes-validations": [
            cel(
                f"size(self.metadata.name) <= {MAX_NAME_LENGTH}",
                f"the name must be at most {MAX_NAME_LENGTH} characters (children append suffixes)",
            )
        ],
    }


def build_crd() -> dict[str, Any]:
    """The CustomResourceDefinition manifest."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": CRD_NAME,
            "annotations": dict(KEEP_ANNOTATION),
            "labels": {"app.kubernetes.io/part-of": "auditpipe"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": list(SHORT_NAMES),
                "categories": ["auditpipe"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": root_schema()},
                }
            ],
        },
    }
