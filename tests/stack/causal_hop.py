"""One hop of a cross-service call, run as its own process (under faketime by the test).

Reads the caller's clock from argv, logs one event with the SDK, flushes, and
prints the event key, its seq and the clock to pass on, as JSON.
"""

from __future__ import annotations

import json
import sys

from auditpipe import AuditClient, BatchReport


def main() -> None:
    """``causal_hop.py ACTION CALLER_CLOCK``; connection settings from AUDITPIPE_* env."""
    action, caller_clock = sys.argv[1], sys.argv[2]
    seen: dict[str, int] = {}

    def on_report(report: BatchReport) -> None:
        seen.update(report.acknowledged)

    with AuditClient(service=f"hop-{action}", on_report=on_report) as client:
        client.observe({"auditpipe-clock": caller_clock})
        key = client.log(action, actor="svc")
        client.flush()
        print(json.dumps({"key": key, "seq": seen[key], "clock": client.clock_header()}))


if __name__ == "__main__":
    main()
