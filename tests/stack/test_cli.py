"""The ``auditpipe`` command as users run it: up, replay, query, export, offline export."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditpipe_cli.datasets import DATASETS
from auditpipe_cli.stack import free_port
from tests.stack.conftest import cli, datasets_dir

pytestmark = pytest.mark.stack


def test_up_replay_query_export_and_offline_export(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    base, redis_port = free_port(), free_port()  # up uses BASE, BASE+1 and BASE+2
    stack_args = ["--data-dir", data, "--port-base", str(base), "--redis-port", str(redis_port)]
    with subprocess.Popen(
        [sys.executable, "-m", "auditpipe_cli.main", "up", *stack_args, "--tenant", "acme"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as up:
        try:
            run_online(up, data)
        finally:
            up.send_signal(signal.SIGINT)
            assert up.wait(60) == 0

    offline = cli("export", "--data-dir", data, "--tenant", "acme")
    assert offline.returncode == 0, offline.stderr
    rows = [json.loads(line) for line in offline.stdout.splitlines()]
    assert len(rows) == 310
    assert len({r["idempotency_key"] for r in rows}) == 310
    missing = cli("export", "--data-dir", data)
    assert missing.returncode == 2
    assert "--tenant" in missing.stderr
    verified = cli("verify", "--data-dir", data)  # offline: every tenant's log
    assert verified.returncode == 0, verified.stderr
    assert "acme (auditpipe/local/acme): OK: 310 positions, 310 covered" in verified.stdout


def run_online(up: subprocess.Popen[str], data: str) -> None:
    """Against the running stack: replay, query and export through the API."""
    key = ""
    deadline = time.monotonic() + 120
    assert up.stdout is not None
    while not key:
        assert time.monotonic() < deadline, "auditpipe up did not print a key"
        line = up.stdout.readline()
        assert line or up.poll() is None, "auditpipe up exited"
        m = re.search(r"API key for tenant acme: (ap_\S+)", line)
        key = m.group(1) if m else ""
    env = {"AUDITPIPE_API_KEY": key}
    path = (
        datasets_dir()
        / "cloudtrail-stratus-detonations"
        / DATASETS["cloudtrail-stratus-detonations"]
    )
    replay = cli("replay", str(path), "--data-dir", data, "--no-progress", env=env)
    assert replay.returncode == 0, replay.stderr
    assert "read 310, accepted 310, rejected 0, unmappable 0, failed 0" in replay.stdout

    def online_count() -> int:
        out = cli("export", "--data-dir", data, env=env)
        assert out.returncode == 0, out.stderr
        return len(out.stdout.splitlines())

    deadline = time.monotonic() + 60
    while online_count() < 310:
        assert time.monotonic() < deadline, "replayed events were not stored"
        time.sleep(0.5)
    page = cli("query", "--data-dir", data, "--limit", "3", env=env)
    events = [json.loads(line) for line in page.stdout.splitlines()]
    assert len(events) == 3
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert "--cursor" in page.stderr
    csv_out = cli("export", "--data-dir", data, "--format", "csv", env=env)
    assert len(csv_out.stdout.splitlines()) == 311  # header + rows
