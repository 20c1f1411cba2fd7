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
    """``AUDITPIPE_DATASETS``, else ``shared/datasets`` beside the repository checkout."""
    env = os.environ.get("AUDITPIPE_DATASETS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]
    return repo.parent / "shared" / "datasets"
