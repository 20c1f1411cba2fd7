"""A real Kubernetes control plane on loopback for the e2e tests (no Docker, no kind).

Runs etcd, kube-apiserver, kube-controller-manager and, when their binaries exist,
kube-scheduler and kwok (with one fake node, so Deployments get Ready pods without a
kubelet). The binaries come from ``scripts/controlplane/build.sh``.

Usage from a pytest session fixture::

    from tests.e2e.controlplane import ControlPlane, default_bin_dir

    with ControlPlane(tmp_path_factory.mktemp("k8s"), default_bin_dir()) as cp:
        env = {**os.environ, **cp.env()}          # KUBECONFIG, NO_PROXY
        cp.kubectl("get", "ns")

Or by hand (starts, prints the kubeconfig path, runs until Ctrl-C)::

    uv run python -m tests.e2e.controlplane up
    uv run python -m tests.e2e.controlplane smoke   # start, check, stop

Only the standard library and the ``openssl`` command line tool are used.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.e2e.pki import PkiError, generate_pki, write_kubeconfig

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "controlplane" / "build.sh"
KUBERNETES_WRAPPER_GOMOD = REPO_ROOT / "scripts" / "controlplane" / "kubernetes" / "go.mod"

FAKE_NODE_NAME = "kwok-node-0"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.244.0.0/16"
FAKE_NODE_IP = "10.245.0.1"  # outside POD_CIDR and SERVICE_CIDR; never routed


class ControlPlaneError(RuntimeError):
    """The control plane could not be started (the message includes log tails)."""


def kubernetes_version() -> str:
    """The Kubernetes version pinned by scripts/controlplane/kubernetes/go.mod."""
    text = KUBERNETES_WRAPPER_GOMOD.read_text()
    match = re.search(r"^\s*k8s\.io/kubernetes\s+(v\S+)", text, re.MULTILINE)
    if not match:
        raise ControlPlaneError(f"k8s.io/kubernetes is not required in {KUBERNETES_WRAPPER_GOMOD}")
    return match.group(1)


def default_bin_dir() -> Path:
    """Where build.sh puts the binaries (``$AUDITPIPE_CONTROLPLANE_BIN`` overrides)."""
    explicit = os.environ.get("AUDITPIPE_CONTROLPLANE_BIN")
    if explicit:
        return Path(explicit)
    root = os.environ.get("AUDITPIPE_CONTROLPLANE_CACHE")
    if root:
        cache_root = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        cache_root = Path(xdg) / "auditpipe" / "controlplane"
    return cache_root / kubernetes_version() / "bin"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager (+ kube-scheduler + kwok).

    All processes listen on random free 127.0.0.1 ports, keep their data and logs under
    ``workdir`` and are stopped by PID (SIGTERM, then SIGKILL) in ``stop()``.
    """

    def __init__(
        self,
        workdir: Path,
        bin_dir: Path,
        *,
        with_kwok: bool | None = None,
        startup_timeout: float = 180.0,
        verbosity: int = 1,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.bin_dir = Path(bin_dir).resolve()
        # None: run scheduler + kwok if their binaries (and the kwok stages) exist.
        self.with_kwok = with_kwok
        self.startup_timeout = startup_timeout
        self.verbosity = verbosity
        self.pki = self.workdir / "pki"
        self.logs = self.workdir / "logs"
        self.kubeconfig = self.workdir / "admin.kubeconfig"
        self.api_port = 0
        self.etcd_port = 0
        self.startup_seconds = 0.0
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._ssl: ssl.SSLContext | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ---- public API -------------------------------------------------------------------

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def running(self) -> bool:
        return bool(self._procs)

    @property
    def kwok_enabled(self) -> bool:
        return any(name == "kwok" for name, _ in self._procs)

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self._procs}

    def env(self) -> dict[str, str]:
        """Environment additions for clients (kubectl, helm, kopf) of this control plane."""
        no_proxy = ",".join(
            x for x in ("127.0.0.1", "localhost", os.environ.get("NO_PROXY", "")) if x
        )
        return {"KUBECONFIG": str(self.kubeconfig), "NO_PROXY": no_proxy, "no_proxy": no_proxy}

    def start(self) -> ControlPlane:
        if self._procs:
            raise ControlPlaneError("already started")
        self._check_binaries()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        t0 = time.monotonic()
        try:
            generate_pki(self.pki)
            self._start_etcd()
            self._start_apiserver()
            write_kubeconfig(self.kubeconfig, self.server, self.pki)
            self._start_controller_manager()
            if self._want_kwok():
                self._start_scheduler()
                self._start_kwok()
            self._wait_for_default_service_account()
            if self.kwok_enabled:
                self._create_fake_node()
        except BaseException as exc:
            tails = self.log_tails()
            self.stop()
            if isinstance(exc, ControlPlaneError | PkiError):
                raise ControlPlaneError(f"{exc}\n{tails}") from exc
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every started process by PID in reverse start order, then SIGKILL."""
        procs, self._procs = self._procs, []
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this control plane."""
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            capture_output=True,
            text=True,
            input=input,
            check=check,
            timeout=timeout,
            env={**os.environ, **self.env()},
        )

    def api(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """A JSON request to the API server with the admin client certificate."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with self._opener.open(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload[:1] in (b"{", b"[") else payload.decode()

    def log_tails(self, lines: int = 25) -> str:
        out = []
        for log in sorted(self.logs.glob("*.log")) if self.logs.is_dir() else []:
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)

    # ---- internals --------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _check_binaries(self) -> None:
        required = ["etcd", "kube-apiserver", "kube-controller-manager"]
        if self.with_kwok:
            required += ["kube-scheduler", "kwok", "kwok-stages.yaml"]
        missing = [b for b in required if not (self.bin_dir / b).exists()]
        if missing:
            raise ControlPlaneError(
                f"missing in {self.bin_dir}: {', '.join(missing)} "
                f"(run scripts/controlplane/build.sh)"
            )

    def _want_kwok(self) -> bool:
        if self.with_kwok is not None:
            return self.with_kwok
        return all(
            (self.bin_dir / b).exists() for b in ("kube-scheduler", "kwok", "kwok-stages.yaml")
        )

    def _spawn(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed below)
        try:
            proc = subprocess.Popen(
                [self._bin(name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                # Own session: Ctrl-C in the terminal/pytest does not hit the children
                # before stop() runs; stop() still signals each PID individually.
                start_new_session=True,
                env={**os.environ, **self.env(), "HOME": str(self.workdir)},
            )
        finally:
            log.close()
        self._procs.append((name, proc))
        return proc

    def _wait(self, what: str, proc: subprocess.Popen[bytes], probe: Any) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: object = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ControlPlaneError(f"{what} exited with code {proc.returncode}")
            try:
                if probe():
                    return
            except (OSError, ValueError, urllib.error.URLError, ssl.SSLError) as exc:
                last_error = exc
            time.sleep(0.25)
        raise ControlPlaneError(
            f"{what} not ready after {self.startup_timeout:.0f}s (last error: {last_error})"
        )

    def _start_etcd(self) -> None:
        self.etcd_port, peer_port = free_port(), free_port()
        client = f"http://127.0.0.1:{self.etcd_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        proc = self._spawn(
            "etcd",
            [
                "--name=e2e",
                f"--data-dir={self.workdir / 'etcd-data'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=e2e={peer}",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            with self._opener.open(client + "/health", timeout=2) as response:
                return bool(json.loads(response.read()).get("health") == "true")

        self._wait("etcd", proc, healthy)

    def _start_apiserver(self) -> None:
        self.api_port = free_port()
        pki = self.pki
        proc = self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                "--advertise-address=127.0.0.1",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--endpoint-reconciler-type=none",
                "--allow-privileged=true",
                "--profiling=false",
                f"--v={self.verbosity}",
            ],
        )
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self._ssl = context
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )

        def ready() -> bool:
            try:
                return bool(self.api("GET", "/readyz") == "ok")
            except urllib.error.HTTPError:
                return False  # 500 while post-start hooks are still running

        self._wait("kube-apiserver /readyz", proc, ready)

    def _component_args(self, name: str) -> list[str]:
        kc = str(self.kubeconfig)
        return [
            f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            f"--cert-dir={self.workdir / (name + '-certs')}",
            "--leader-elect=false",
            f"--v={self.verbosity}",
        ]

    def _start_controller_manager(self) -> None:
        pki = self.pki
        self._spawn(
            "kube-controller-manager",
            [
                *self._component_args("kube-controller-manager"),
                "--use-service-account-credentials=false",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                "--cluster-name=auditpipe-e2e",
            ],
        )

    def _start_scheduler(self) -> None:
        # --kubeconfig/--leader-elect are deprecated for the scheduler: use a config file.
        config = self.workdir / "kube-scheduler.yaml"
        config.write_text(
            "apiVersion: kubescheduler.config.k8s.io/v1\n"
            "kind: KubeSchedulerConfiguration\n"
            f"clientConnection:\n  kubeconfig: {json.dumps(str(self.kubeconfig))}\n"
            "leaderElection:\n  leaderElect: false\n"
        )
        args = [
            a
            for a in self._component_args("kube-scheduler")
            if not a.startswith(("--kubeconfig=", "--leader-elect="))
        ]
        self._spawn("kube-scheduler", [f"--config={config}", *args])

    def _start_kwok(self) -> None:
        self._spawn(
            "kwok",
            [
                f"--kubeconfig={self.kubeconfig}",
                f"--config={self.bin_dir / 'kwok-stages.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={POD_CIDR}",
                f"--node-ip={FAKE_NODE_IP}",
                "--node-lease-duration-seconds=40",
            ],
        )

    def _wait_for_default_service_account(self) -> None:
        """KCM works once it has created the `default` ServiceAccount (pods need it)."""
        kcm = dict(self._procs)["kube-controller-manager"]

        def exists() -> bool:
            try:
                self.api("GET", "/api/v1/namespaces/default/serviceaccounts/default")
                return True
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return False
                raise

        self._wait("kube-controller-manager (serviceaccount default/default)", kcm, exists)

    def _create_fake_node(self) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": FAKE_NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": FAKE_NODE_NAME,
                    "type": "kwok",
                },
            },
            "spec": {},
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            },
        }
        self.api("POST", "/api/v1/nodes", node)
        kwok = dict(self._procs)["kwok"]

        def node_ready() -> bool:
            status = self.api("GET", f"/api/v1/nodes/{FAKE_NODE_NAME}").get("status", {})
            return any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in status.get("conditions", [])
            )

        self._wait(f"kwok node {FAKE_NODE_NAME} Ready", kwok, node_ready)


# ---- command line: `up` for manual use, `smoke` for an end-to-end check -----------------

SMOKE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: smoke}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      containers:
      - name: app
        image: example.invalid/smoke:1
"""


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _smoke(cp: ControlPlane) -> None:
    def show(*args: str) -> str:
        result = cp.kubectl(*args)
        print(f"$ kubectl {' '.join(args)}\n{result.stdout.rstrip()}")
        return result.stdout

    print(f"started in {cp.startup_seconds:.1f}s: {cp.pids()}")
    show("version")
    show("get", "--raw=/readyz")
    show("get", "ns")
    show("get", "nodes", "-o", "wide")
    cp.kubectl("apply", "-f", "-", input=SMOKE_DEPLOYMENT)
    t0 = time.monotonic()
    if cp.kwok_enabled:
        show("wait", "--for=condition=Available", "deployment/smoke", "--timeout=120s")
        print(f"deployment Available after {time.monotonic() - t0:.1f}s")
        show("get", "deployment,pods", "-o", "wide")
    else:
        show("get", "deployment,replicaset,pods")
    show("delete", "deployment", "smoke", "--wait=true", "--timeout=120s")
    helm = cp.bin_dir / "helm"
    if helm.exists():
        out = subprocess.run(
            [str(helm), "version"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **cp.env()},
        )
        print(f"$ helm version\n{out.stdout.rstrip()}")
    rss = {name: round(_rss_mib(pid)) for name, pid in cp.pids().items()}
    print(f"RSS MiB: {rss} total={sum(rss.values())}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "smoke"])
    parser.add_argument("--bin-dir", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--no-kwok", action="store_true")
    args = parser.parse_args(argv)
    bin_dir = args.bin_dir or default_bin_dir()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="auditpipe-k8s-"))
    cp = ControlPlane(workdir, bin_dir, with_kwok=False if args.no_kwok else None)
    with cp:
        if args.command == "smoke":
            _smoke(cp)
        else:
            print(f"control plane up in {cp.startup_seconds:.1f}s, pids {cp.pids()}")
            print(f"export KUBECONFIG={cp.kubeconfig}")
            print("Ctrl-C (or SIGTERM) to stop")
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
