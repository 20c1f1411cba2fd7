"""kubectl and helm against one kubeconfig, and polling with deadlines.

Any cluster will do: the local control plane (``controlplane.py``) or whatever
``$KUBECONFIG`` points at. The binaries are the control plane's own when they
were built (``scripts/controlplane/build.sh``), else the ones on ``PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Manifest = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "auditpipe"
EXAMPLE = REPO / "examples" / "auditpipeline.yaml"


def wait_until(
    check: Callable[[], T | None], what: str, timeout: float = 120.0, interval: float = 0.25
) -> T:
    """Poll ``check`` until it returns something truthy, which is returned.

    Fails with ``what`` and the last value seen once ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {last!r}")
        time.sleep(interval)


def find_binary(name: str, bin_dir: Path | None) -> str:
    """``bin_dir/name`` if it exists, else ``name`` from PATH."""
    if bin_dir is not None and (bin_dir / name).exists():
        return str(bin_dir / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found (build it: scripts/controlplane/build.sh {name})")
    return found


@dataclass
class Cluster:
    """Clients of one API server."""

    kubeconfig: Path
    bin_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        """The environment of the clients (kubectl, helm, the operator)."""
        return {**os.environ, **self.env, "KUBECONFIG": str(self.kubeconfig)}

    def run(
        self, tool: str, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl or helm; a failure (with ``check``) shows its output."""
        done = subprocess.run(
            [find_binary(tool, self.bin_dir), *args],
            capture_output=True,
            text=True,
            input=input,
            env=self.environ(),
            timeout=300,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return done

    def kubectl(self, *args: str, input: str | None = None) -> str:
        """kubectl's output; fails the test on a non-zero exit."""
        return self.run("kubectl", *args, input=input).stdout

    def helm(self, *args: str) -> str:
        """helm's output; fails the test on a non-zero exit."""
        return self.run("helm", *args).stdout

    def get(self, kind: str, name: str, namespace: str | None = None) -> Manifest | None:
        """The object, or None if it does not exist."""
        args = ["get", kind, name, "-o", "json", "--ignore-not-found"]
        out = self.kubectl(*args, *_ns(namespace))
        return json.loads(out) if out.strip() else None

    def must_get(self, kind: str, name: str, namespace: str | None = None) -> Manifest:
        """The object (fails the test if it does not exist)."""
        obj = self.get(kind, name, namespace)
        assert obj is not None, f"{kind}/{name} does not exist"
        return obj

    def items(self, kind: str, namespace: str | None, selector: str = "") -> list[Manifest]:
        """Objects of a kind (in a namespace, or everywhere with None)."""
        where = _ns(namespace) if namespace else ["--all-namespaces"]
        args = ["get", kind, "-o", "json", *where]
        if selector:
            args += ["-l", selector]
        items: list[Manifest] = json.loads(self.kubectl(*args))["items"]
        return items

    def apply(self, objects: Sequence[Mapping[str, Any]], namespace: str | None = None) -> str:
        """``kubectl apply`` of manifests (client-side, as a user would)."""
        body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
        return self.kubectl("apply", "-f", "-", *_ns(namespace), input=body)

    def patch(self, kind: str, name: str, namespace: str | None, patch: Mapping[str, Any]) -> None:
        """A JSON merge patch."""
        self.kubectl("patch", kind, name, *_ns(namespace), "--type=merge", "-p", json.dumps(patch))

    def create_namespace(self, name: str) -> None:
        """Create a namespace (it must not exist)."""
        self.kubectl("create", "namespace", name)


def _ns(namespace: str | None) -> list[str]:
    return ["-n", namespace] if namespace else []
