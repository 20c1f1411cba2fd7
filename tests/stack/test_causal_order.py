"""Causal order across services whose wall clocks are skewed by minutes both ways.

Each hop is a separate process started under ``faketime`` (libfaketime, a real
shifted clock for that process): A is 10 minutes slow, B 15 minutes fast.
A → B → A → B pass the ``auditpipe-clock`` header along. Stored ``seq`` must
follow the chain; the skewed client times are kept as sent and flagged.

(With one counter per tenant the numbers would also rise without the header;
what the header adds — a floor the sequencer must exceed, which matters when
the counter lost writes or another sequencer serves the receiver — is tested
in services/sequencer/tests and sdk/python/tests/test_protocol.py.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditpipe_cli.remote import QueryClient, create_key, wait_drained
from auditpipe_cli.stack import LocalStack
from auditpipe_common.timeutil import parse_rfc3339
from tests.stack.conftest import exported

pytestmark = pytest.mark.stack
HOP = Path(__file__).with_name("causal_hop.py")


def hop(stack: LocalStack, key: str, action: str, clock: str, shift: str) -> dict[str, object]:
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.fail("faketime is missing: make bootstrap installs it (apt-get install faketime)")
    env = {
        **os.environ,
        "AUDITPIPE_API_KEY": key,
        "AUDITPIPE_INGEST_URL": stack.config.url("ingest"),
        "AUDITPIPE_SEQUENCER_URL": stack.config.url("sequencer"),
    }
    out = subprocess.run(
        [faketime, "-f", shift, sys.executable, str(HOP), action, clock],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_seq_follows_the_propagated_clock_not_the_wall_clocks(
    stack: LocalStack, tenant: str
) -> None:
    key = create_key(stack.config.redis_url, tenant)
    chain, clock = [], "0"
    for action, shift in (("a1", "-10m"), ("b1", "+15m"), ("a2", "-10m"), ("b2", "+15m")):
        result = hop(stack, key, action, clock, shift)
        clock = str(result["clock"]["auditpipe-clock"])  # type: ignore[index]
        chain.append(result)
    seqs = [int(r["seq"]) for r in chain]  # type: ignore[call-overload]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4

    assert wait_drained(stack.config.redis_url, stack.config.shards)
    with QueryClient(stack.config.url("query"), key) as query:
        rows = exported(query)
    by_action = {r["action"]: r for r in rows}
    assert [by_action[a]["seq"] for a in ("a1", "b1", "a2", "b2")] == seqs
    occurred = {a: parse_rfc3339(by_action[a]["occurred_at"]) for a in by_action}
    received = {a: parse_rfc3339(by_action[a]["received_at"]) for a in by_action}
    # client times are kept as the skewed clocks said: b1 "happened" ~25 min after a2
    assert occurred["b1"] - occurred["a2"] > 20 * 60 * 1_000_000
    assert abs(received["a1"] - occurred["a1"] - 10 * 60 * 1_000_000) < 60 * 1_000_000
    assert all(r["clock_skewed"] for r in rows)
