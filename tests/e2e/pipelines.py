"""AuditPipelines in the e2e tests: the example, namespaces, and waiting for conditions."""

from __future__ import annotations

import copy
import itertools
import json
import os
from collections.abc import Mapping
from typing import Any

import yaml

from tests.e2e.cluster import EXAMPLE, Cluster, Manifest, wait_until

KIND = "auditpipeline"
NAME = "audit"  # the example's name
CONDITIONS = {"Ready": "True", "Progressing": "False", "Degraded": "False"}
CONDITIONS_RETAINED = {**CONDITIONS, "RetentionApplied": "True"}
# Other clusters (kind) run the images built from this checkout under this tag.
IMAGE_TAG = os.environ.get("AUDITPIPE_E2E_IMAGE_TAG", "")
_counter = itertools.count(1)


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, recursively for mappings."""
    out = dict(copy.deepcopy(base))
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def example(spec: Mapping[str, Any] | None = None) -> Manifest:
    """``examples/auditpipeline.yaml``, with ``spec`` merged into its spec."""
    body: Manifest = yaml.safe_load(EXAMPLE.read_text())
    body["spec"] = merge(body["spec"], spec or {})
    if IMAGE_TAG:
        images = {
            c: {"repository": f"ghcr.io/auditpipe/{c}", "tag": IMAGE_TAG}
            for c in ("ingest", "sequencer", "worker", "query")
        }
        body["spec"] = merge(body["spec"], {"images": {**images, "pullPolicy": "IfNotPresent"}})
    return body


def apply_example(cluster: Cluster, namespace: str, spec: Mapping[str, Any] | None = None) -> None:
    """``kubectl apply -f examples/auditpipeline.yaml``, changed by ``spec`` if given."""
    if spec is None and not IMAGE_TAG:
        cluster.kubectl("apply", "-f", str(EXAMPLE), "-n", namespace)
    else:
        cluster.apply([example(spec)], namespace)


def conditions(obj: Manifest) -> dict[str, Manifest]:
    """The status conditions by type."""
    return {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}


def settled(obj: Manifest | None, wanted: Mapping[str, str] = CONDITIONS_RETAINED) -> bool:
    """Whether the status describes the current generation and has the wanted conditions."""
    if obj is None:
        return False
    generation = obj["metadata"]["generation"]
    if obj.get("status", {}).get("observedGeneration") != generation:
        return False
    found = conditions(obj)
    return all(
        kind in found
        and found[kind]["status"] == status
        and found[kind]["observedGeneration"] == generation
        for kind, status in wanted.items()
    )


def wait_settled(
    cluster: Cluster, namespace: str, wanted: Mapping[str, str] = CONDITIONS_RETAINED
) -> Manifest:
    """The example pipeline, once its status shows ``wanted`` for its current generation."""
    seen: list[Manifest | None] = [None]

    def check() -> Manifest | None:
        seen[0] = cluster.get(KIND, NAME, namespace)
        return seen[0] if settled(seen[0], wanted) else None

    try:
        return wait_until(check, f"{namespace}/{NAME} to reach {dict(wanted)}", 180)
    except AssertionError as exc:
        status = (seen[0] or {}).get("status", {})
        raise AssertionError(f"{exc}\nlast status: {json.dumps(status, indent=1)}") from None


class Namespaces:
    """Namespaces a test creates; deleted (without waiting) when it ends."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster
        self._created: list[str] = []

    def create(self, prefix: str) -> str:
        """A new namespace named ``<prefix>-<n>``."""
        name = f"{prefix}-{next(_counter)}-{os.getpid() % 10000}"
        self._cluster.create_namespace(name)
        self._created.append(name)
        return name

    def delete_all(self) -> None:
        """Delete every namespace created here."""
        for name in self._created:
            self._cluster.run("kubectl", "delete", "namespace", name, "--wait=false", check=False)
