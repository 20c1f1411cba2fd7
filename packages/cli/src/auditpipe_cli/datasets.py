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


def datasets_root() -> Path:
    """``AUDITPIPE_DATASETS``, else the nearest ``shared/datasets`` above the checkout.

    The data sets live beside the repository (``../shared/datasets``); a clone
    made deeper in the same tree (a CI work folder, say) finds them too.
    """
    env = os.environ.get("AUDITPIPE_DATASETS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]
    for folder in repo.parents:
        candidate = folder / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "datasets"
