"""Where the bundled real audit-log data sets are, and which file of each to replay."""

from __future__ import annotations

import os
from pathlib import Path

# Data set folder -> the data inside it (the folders also hold licences and provenance).
DATASETS = {
    "cloudtrail-invictus": "CloudTrail",
    "cloudtrail-stratus-detonations": "detonation-logs",
    "k8s-audit-perfspec": "audit-logs.csv",
    "windows-security-otrf": "empire_wmic_add_user_backdoor.security.jsonl.gz",
}


def shared_folder(name: str) -> Path:
    """``shared/<name>`` of the nearest folder above the checkout that has one.

    The shared material (real data sets, public test vectors) lives beside the
    repository (``../shared``); a clone made deeper in the same tree (a CI work
    folder, say) finds it too. Falls back to ``../shared/<name>``.
    """
    repo = Path(__file__).resolve().parents[4]
    for folder in repo.parents:
        candidate = folder / "shared" / name
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / name


def datasets_root() -> Path:
    """``AUDITPIPE_DATASETS``, else the shared data sets (:func:`shared_folder`)."""
    env = os.environ.get("AUDITPIPE_DATASETS")
    return Path(env) if env else shared_folder("datasets")
