"""The control plane's PKI and admin kubeconfig, made with the ``openssl`` command line tool.

Own minimal openssl config files, so the system ``openssl.cnf`` does not matter:
a CA, the API server's serving certificate, an admin client certificate
(``O=system:masters``) and the service-account key pair.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path


class PkiError(RuntimeError):
    """An openssl step failed (its stderr is in the message)."""


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PkiError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def generate_pki(pki: Path) -> None:
    """CA, API server serving cert, admin client cert and service-account key pair.

    Uses its own minimal openssl config files, so the system openssl.cnf does not matter.
    """
    pki.mkdir(parents=True, exist_ok=True)
    (pki / "ca.cnf").write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n"
        "[dn]\nCN = auditpipe-e2e-ca\n"
        "[v3_ca]\nbasicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, keyCertSign, cRLSign, digitalSignature\n"
        "subjectKeyIdentifier = hash\n"
    )
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-config",
        "ca.cnf",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=pki,
    )
    san = ",".join(
        [
            "IP:127.0.0.1",
            "IP:10.0.0.1",  # first address of SERVICE_CIDR: the `kubernetes` Service
            "DNS:localhost",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
        ]
    )
    leaves = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth", f"subjectAltName = {san}\n"),
        "admin": ("/O=system:masters/CN=auditpipe-e2e-admin", "clientAuth", ""),
    }
    for name, (subject, usage, extra) in leaves.items():
        (pki / f"{name}.ext").write_text(
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            f"extendedKeyUsage = {usage}\n"
            "authorityKeyIdentifier = keyid\n" + extra
        )
        _openssl(
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=pki,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.crt",
            cwd=pki,
        )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for key in pki.glob("*.key"):
        key.chmod(0o600)


def write_kubeconfig(path: Path, server: str, pki: Path, name: str = "auditpipe-e2e") -> None:
    """An admin kubeconfig with embedded certificates (JSON is valid kubeconfig YAML)."""

    def b64(file: str) -> str:
        return base64.b64encode((pki / file).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")},
            }
        ],
        "users": [
            {
                "name": f"{name}-admin",
                "user": {
                    "client-certificate-data": b64("admin.crt"),
                    "client-key-data": b64("admin.key"),
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}],
        "current-context": name,
        "preferences": {},
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
