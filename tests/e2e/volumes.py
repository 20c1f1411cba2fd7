"""Persistent volumes for clusters without a provisioner (the local control plane).

The pipelines' claims (Redis, ClickHouse, sequencer) stay Pending, and their pods
unscheduled, until a volume binds them. Without a default StorageClass the
fixture creates a pool of ``hostPath`` PersistentVolumes (nothing is ever written
to them on kwok), which kube-controller-manager's binder hands out as a
provisioner would; they are deleted at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.cluster import Cluster, Manifest

# Each pipeline claims 4 volumes and a released one is not reused (Retain): room for 16.
POOL = 64
LABEL = "auditpipe.dev/e2e-volume"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def has_default_class(cluster: Cluster) -> bool:
    """Whether a default StorageClass provisions volumes."""
    classes = cluster.items("storageclass", None)
    return any(c["metadata"].get("annotations", {}).get(DEFAULT_CLASS) == "true" for c in classes)


def volume(index: int, root: Path) -> Manifest:
    """One 100Gi ReadWriteOnce volume."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"auditpipe-e2e-{index:03d}", "labels": {LABEL: "true"}},
        "spec": {
            "capacity": {"storage": "100Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": str(root / f"pv-{index:03d}"), "type": "DirectoryOrCreate"},
        },
    }


@contextmanager
def provide_volumes(cluster: Cluster, root: Path) -> Iterator[None]:
    """Create the pool if the cluster cannot provision volumes; delete it afterwards."""
    if has_default_class(cluster):
        yield
        return
    cluster.apply([volume(i, root) for i in range(POOL)])
    try:
        yield
    finally:
        cluster.run("kubectl", "delete", "pv", "-l", LABEL, "--wait=false", check=False)
