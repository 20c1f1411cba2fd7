"""The subcommands of ``auditpipe`` other than ``up`` (see main.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

from pydantic import SecretStr

from auditpipe_cli.remote import QueryClient, create_key, stack_info


def _running(data_dir: Path) -> dict[str, Any]:
    info = stack_info(data_dir)
    if info is None:
        raise RuntimeError(f"no running stack found for {data_dir} (start it: auditpipe up)")
    return info


def _query_client(args: argparse.Namespace) -> QueryClient:
    if not args.api_key:
        raise ValueError("an API key is needed: --api-key or AUDITPIPE_API_KEY")
    return QueryClient(_running(args.data_dir)["query_url"], args.api_key)


def keys(args: argparse.Namespace) -> int:
    """``keys create``: print a new key for a tenant."""
    redis_url = args.redis_url or _running(args.data_dir)["redis_url"]
    print(create_key(redis_url, args.tenant, args.name))
    return 0


def replay(args: argparse.Namespace) -> int:
    """``replay PATH``: send a data set through the SDK and print the accounting."""
    from auditpipe_cli.replayrun import replay as run

    info = _running(args.data_dir)
    key = args.api_key
    if args.tenant:
        key = create_key(info["redis_url"], args.tenant, "replay")
    if not key:
        raise ValueError("give --tenant (a key is created) or --api-key")
    result = run(
        args.path,
        api_key=key,
        ingest_url=info["ingest_url"],
        sequencer_url=info["sequencer_url"],
        fmt=args.format,
        show_progress=not args.no_progress,
    )
    print(
        f"{result.name} ({result.fmt}): read {result.read}, "
        f"accepted {len(result.acknowledged)}, rejected {sum(result.rejected.values())}, "
        f"unmappable {sum(result.unmappable.values())}, failed {sum(result.failed.values())}"
    )
    for label, counter in (
        ("rejected", result.rejected),
        ("unmappable", result.unmappable),
        ("failed", result.failed),
    ):
        for reason, n in counter.most_common():
            print(f"  {n} {label}: {reason}")
    return 1 if result.failed else 0


def query(args: argparse.Namespace) -> int:
    """``query``: one page of events, then the cursor for the next one."""
    from auditpipe_cli.main import filters_of

    client = _query_client(args)
    page = client.page({**filters_of(args), "limit": args.limit, "cursor": args.cursor})
    for ev in page["events"]:
        print(json.dumps(ev, ensure_ascii=False))
    if page["next_cursor"]:
        print(f"# next page: --cursor {page['next_cursor']}", file=sys.stderr)
    return 0


def _local_export(args: argparse.Namespace, filters: dict[str, Any]) -> Iterator[str]:
    """Export straight from the chDB directory (the stack must be stopped)."""
    from auditpipe_common.settings import StoreSettings
    from auditpipe_common.store import EventFilter, open_store
    from auditpipe_common.timeutil import parse_rfc3339
    from auditpipe_query.export import csv_lines, jsonl_lines

    if not args.tenant:
        raise ValueError("with the stack stopped, name the tenant: --tenant")
    path = args.data_dir.resolve() / "chdb"
    if not path.exists():
        raise FileNotFoundError(f"no store at {path}")
    times = {
        k: parse_rfc3339(v) if not str(v).isdigit() else int(v)
        for k, v in filters.items()
        if k in ("since", "until")
    }
    seqs = {k: int(v) for k, v in filters.items() if k in ("seq_from", "seq_to")}
    rest = {k: v for k, v in filters.items() if k not in times and k not in seqs}
    flt = EventFilter(
        tenant=args.tenant,
        since_us=times.get("since"),
        until_us=times.get("until"),
        seq_from=seqs.get("seq_from"),
        seq_to=seqs.get("seq_to"),
        **rest,
    )
    store = open_store(StoreSettings(store_dsn=SecretStr(f"chdb://{path}")))
    render = jsonl_lines if args.format == "jsonl" else csv_lines
    try:
        yield from render(store.scan(flt))
    finally:
        store.close()


def export(args: argparse.Namespace) -> int:
    """``export``: through the query API if the stack runs, else from the data directory."""
    from auditpipe_cli.main import filters_of

    filters = filters_of(args)
    if stack_info(args.data_dir) is not None:
        lines = _query_client(args).export_lines({**filters, "format": args.format})
    else:
        lines = _local_export(args, filters)
    out: Any = open(args.output, "w", encoding="utf-8") if args.output else nullcontext(sys.stdout)  # noqa: SIM115
    with out as f:
        _write(lines, f)
    return 0


def _write(lines: Iterator[str], f: IO[str]) -> None:
    for line in lines:
        f.write(line)


def tail(args: argparse.Namespace) -> int:
    """``tail``: print new events as they are stored (Ctrl-C stops)."""
    from auditpipe_cli.main import filters_of

    client = _query_client(args)
    filters = filters_of(args)
    last = client.stats(filters)["max_seq"]
    try:
        while True:
            page = client.page({**filters, "seq_from": last + 1, "limit": 1000})
            for ev in page["events"]:
                print(json.dumps(ev, ensure_ascii=False), flush=True)
                last = ev["seq"]
            if not page["events"]:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0


def demo(args: argparse.Namespace) -> int:
    """``demo``: the main job on the bundled data sets."""
    from auditpipe_cli.demo import run_demo
    from auditpipe_cli.main import stack_config

    return 0 if run_demo(args.datasets, stack_config(args), not args.no_progress) else 1
