"""The tamper-evident log of the running stack, checked the way a third party would.

Events go in through the SDK; the stack signs receipts (ingest) and
checkpoints (worker); the proofs it serves are checked by the standalone
verifier (``python -m auditpipe_common.tlog``) in a separate process that has
nothing but the files and the public keys.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from auditpipe import AuditClient, BatchReport
from auditpipe_cli.remote import QueryClient
from auditpipe_cli.stack import LocalStack
from auditpipe_common.tlog import EventReceipt
from tests.stack.conftest import cli, wait_count

pytestmark = pytest.mark.stack


def verifier(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditpipe_common.tlog", *args], capture_output=True, text=True
    )


def wait_checkpoint(query: QueryClient, size: int, timeout: float = 60) -> str:
    """Poll until the newest checkpoint covers ``size`` events; its note."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            note = query.get("/v1/log/checkpoint").text
        except RuntimeError:  # 404 until the first checkpoint
            note = "\n0\n"
        if int(note.split("\n")[1]) >= size:
            return note
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of size {size} within {timeout}s")


def test_a_third_party_checks_what_the_stack_signed(
    stack: LocalStack,
    tenant: str,
    make_client: Callable[..., AuditClient],
    key_and_query: tuple[str, QueryClient],
    tmp_path: Path,
) -> None:
    key, query = key_and_query
    receipts: dict[str, EventReceipt] = {}

    def keep(report: BatchReport) -> None:
        receipts.update(report.receipts)

    client = make_client(key, batch_size=25, on_report=keep)
    logged = [client.log("doc.read", actor={"id": f"u{i}"}, attributes={"i": i}) for i in range(60)]
    assert client.flush(60)
    assert set(receipts) == set(logged)  # one receipt per accepted event
    assert wait_count(query, 60) == 60
    wait_checkpoint(query, 60)

    report = query.get("/v1/log/verify").json()
    assert report["ok"], report
    assert report["verified_size"] == 60

    data = str(stack.data_dir)
    log_key = cli("verifier-key", "--tenant", tenant, "--data-dir", data).stdout.strip()
    ingest_key = cli("verifier-key", "--tenant", tenant, "--data-dir", data, "--receipts")
    bundle, receipt = tmp_path / "proof.json", tmp_path / "receipt.json"
    bundle.write_text(query.get("/v1/log/proof", {"key": logged[41]}).text)
    receipt.write_text(receipts[logged[41]].dumps())

    checked = verifier("verify-inclusion", "--bundle", str(bundle), "--key", log_key)
    assert checked.returncode == 0, checked.stderr
    checked = verifier(
        "verify-receipt", "--receipt", str(receipt), "--bundle", str(bundle),
        "--key", log_key, "--receipt-key", ingest_key.stdout.strip(),
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    forged = json.loads(bundle.read_text())
    forged["leaf_index"] += 1
    bundle.write_text(json.dumps(forged))
    checked = verifier("verify-inclusion", "--bundle", str(bundle), "--key", log_key)
    assert checked.returncode == 1

    sizes = [c["size"] for c in query.get("/v1/log/checkpoints").json()["checkpoints"]]
    if len(sizes) > 1:
        consistency = tmp_path / "consistency.json"
        consistency.write_text(query.get("/v1/log/consistency", {"old": sizes[0]}).text)
        checked = verifier("verify-consistency", "--bundle", str(consistency), "--key", log_key)
        assert checked.returncode == 0, checked.stderr
