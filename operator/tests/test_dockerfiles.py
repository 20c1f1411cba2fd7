"""The Dockerfiles of the images the operator deploys, read statically.

No Docker engine exists on these machines, so the images are never built here;
this checks what can be checked without one: every deployable has a
multi-stage, non-root Dockerfile that installs its own workspace member from
the lock and runs the module the operator's pods start.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOYABLES = [
    "services/ingest",
    "services/worker",
    "services/sequencer",
    "services/query",
    "operator",
]


def members() -> list[str]:
    """The uv workspace's members."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["uv"]["workspace"]["members"])


@pytest.mark.parametrize("member", DEPLOYABLES)
def test_dockerfile_is_multi_stage_non_root_and_runs_its_member(member: str) -> None:
    text = (ROOT / member / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    final = text.rsplit("\nFROM ", 1)[1]
    assert "USER 10001:10001" in final
    assert "COPY --from=build /app/.venv /app/.venv" in final
    package = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]["name"]
    assert text.count(f"--package {package}\n") == 2
    assert "uv sync --frozen --no-dev" in text
    module = package.replace("-", "_")
    assert final.rstrip().endswith(f'ENTRYPOINT ["python", "-m", "{module}"]')
    assert (ROOT / member / "src" / module / "__main__.py").exists()
    for needed in members():  # uv resolves the workspace as a whole
        assert f"COPY {needed}/pyproject.toml {needed}/" in text
    assert f"COPY {member} {member}" in text
