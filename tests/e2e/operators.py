"""The operator under test, which the tests can stop and start again.

On the local control plane the chart's operator pod is a kwok fake (no
container runs), so :class:`OperatorProcess` runs ``python -m
auditpipe_operator`` here, with the environment of the Deployment the chart
rendered and a kubeconfig holding a token of the chart's ServiceAccount (from
a TokenRequest): every API call it makes is authorised by the chart's RBAC, so
a missing rule fails the tests as it would in a cluster. On a real cluster,
:class:`InClusterOperator` scales the chart's Deployment instead.
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from tests.e2e.cluster import Cluster, Manifest, wait_until
from tests.e2e.controlplane import free_port

TOKEN_DURATION = "4h"
LIVENESS_PORT = "AUDITPIPE_OPERATOR_LIVENESS_PORT"


class Operator(Protocol):
    """An operator the tests can take down and bring back."""

    def start(self) -> None:
        """Start it (it must not be running)."""

    def stop(self) -> None:
        """Stop it and wait until it is gone."""

    def tail(self) -> str:
        """The end of its log, for failure messages."""

    def logs(self) -> str:
        """Its whole log (of this session; of the running pod in a cluster)."""


def service_account_kubeconfig(cluster: Cluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig for the cluster, logged in as ``namespace/account`` with a fresh token."""
    admin = json.loads(cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    server = admin["clusters"][0]["cluster"]
    if "certificate-authority" in server:  # a file path: embed it
        ca = Path(server.pop("certificate-authority")).read_bytes()
        server["certificate-authority-data"] = base64.b64encode(ca).decode()
    token = cluster.kubectl(
        "create", "token", account, "-n", namespace, f"--duration={TOKEN_DURATION}"
    ).strip()
    user = f"system:serviceaccount:{namespace}:{account}"
    context = {"cluster": "e2e", "user": user, "namespace": namespace}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": server}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": context}],
        "current-context": "operator",
    }
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


def deployment_env(deployment: Manifest) -> dict[str, str]:
    """The literal environment of the Deployment's first container."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


class OperatorProcess:
    """``python -m auditpipe_operator`` out of cluster, as the release's Deployment runs it.

    Each start reads the Deployment's environment and ServiceAccount and gets a fresh
    token for it, so it also works after the release was uninstalled and installed again.
    """

    def __init__(self, cluster: Cluster, namespace: str, release: str, workdir: Path) -> None:
        self._cluster, self._namespace, self._release = cluster, namespace, release
        self._workdir = workdir
        self.log = workdir / "operator.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        deployment = self._cluster.must_get("deployment", self._release, self._namespace)
        account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        path = self._workdir / "operator.kubeconfig"
        kubeconfig = service_account_kubeconfig(self._cluster, self._namespace, account, path)
        return {
            **self._cluster.environ(),
            **deployment_env(deployment),
            "KUBECONFIG": str(kubeconfig),
            LIVENESS_PORT: str(free_port()),  # the chart's 8080 may be taken here
        }

    def start(self) -> None:
        """Start it (logs appended to ``log``)."""
        assert self._proc is None or self._proc.poll() is not None, "already running"
        env = self._env()
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "auditpipe_operator"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        """SIGTERM (kopf lets its handlers finish), SIGKILL after 30 s."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def tail(self) -> str:
        """The last 60 lines of its log."""
        return "\n".join(self.logs().splitlines()[-60:])

    def logs(self) -> str:
        """Everything it logged since the session began."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class InClusterOperator:
    """The chart's operator Deployment, scaled to 0 and back to 1."""

    def __init__(self, cluster: Cluster, namespace: str, release: str) -> None:
        self._cluster, self._namespace, self._name = cluster, namespace, release

    def _scale(self, replicas: int) -> None:
        self._cluster.kubectl(
            "scale", "deployment", self._name, "-n", self._namespace, f"--replicas={replicas}"
        )

        def settled() -> bool:
            deployment = self._cluster.must_get("deployment", self._name, self._namespace)
            status = deployment.get("status", {})
            return bool(
                status.get("readyReplicas", 0) == replicas and status.get("replicas", 0) == replicas
            )

        wait_until(settled, f"the operator Deployment at {replicas} ready replicas")

    def start(self) -> None:
        """Scale to 1 and wait until the pod is ready."""
        self._scale(1)

    def stop(self) -> None:
        """Scale to 0 and wait until the pod is gone."""
        self._scale(0)

    def tail(self) -> str:
        """The operator pod's last log lines."""
        return self._logs("--tail=60")

    def logs(self) -> str:
        """The operator pod's whole log."""
        return self._logs("--tail=-1")

    def _logs(self, tail: str) -> str:
        done = self._cluster.run(
            "kubectl", "logs", f"deployment/{self._name}", "-n", self._namespace, tail,
            check=False,
        )  # fmt: skip
        return done.stdout + done.stderr
