"""``auditpipe``: the command line front door.

auditpipe up                       run the local stack in the foreground
auditpipe keys create --tenant T   create an API key (printed once)
auditpipe replay PATH              send a real audit-log file/folder through the SDK
auditpipe query  [filters]         one page of events (JSON lines)
auditpipe export [filters]         every matching event as JSONL or CSV
auditpipe tail   [filters]         follow new events
auditpipe verify                   check the tamper-evident log against its signed checkpoints
auditpipe proof --key K            an inclusion proof a third party can check offline
auditpipe checkpoint               the newest signed checkpoint
auditpipe verifier-key --tenant T  the public key string that checks a tenant's log
auditpipe demo                     replay the bundled data sets and check the store
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from auditpipe_cli import commands, logcmd
from auditpipe_cli.datasets import datasets_root
from auditpipe_cli.stack import StackConfig

FILTERS = (
    "actor",
    "action",
    "event",
    "outcome",
    "resource_type",
    "resource_id",
    "since",
    "until",
    "seq_from",
    "seq_to",
)


def _data_dir() -> Path:
    return Path(os.environ.get("AUDITPIPE_DATA_DIR", ".auditpipe"))


def _add_stack_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=_data_dir(),
        help="where Redis and chDB keep data (env AUDITPIPE_DATA_DIR)",
    )
    p.add_argument(
        "--port-base",
        type=int,
        default=8700,
        help="ingest on BASE, sequencer BASE+1, query BASE+2 (default 8700)",
    )
    p.add_argument("--redis-port", type=int, default=6390)
    p.add_argument("--appendfsync", choices=("everysec", "always", "no"), default="everysec")


def stack_config(args: argparse.Namespace) -> StackConfig:
    """The stack configuration described by command-line arguments."""
    return StackConfig(
        data_dir=args.data_dir,
        ingest_port=args.port_base,
        sequencer_port=args.port_base + 1,
        query_port=args.port_base + 2,
        redis_port=args.redis_port,
        appendfsync=args.appendfsync,
    )


def _add_client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=_data_dir())
    p.add_argument(
        "--api-key",
        default=os.environ.get("AUDITPIPE_API_KEY"),
        help="tenant API key (env AUDITPIPE_API_KEY)",
    )


def _add_filters(p: argparse.ArgumentParser) -> None:
    for name in FILTERS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name)


def filters_of(args: argparse.Namespace) -> dict[str, Any]:
    """The query filters given on the command line."""
    return {name: getattr(args, name) for name in FILTERS if getattr(args, name) is not None}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="auditpipe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the local stack in the foreground (Ctrl-C stops it)")
    _add_stack_args(up)
    up.add_argument("--tenant", help="also create an API key for this tenant")

    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create an API key for a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--data-dir", type=Path, default=_data_dir())
    create.add_argument("--redis-url", help="default: the running local stack's Redis")

    rp = sub.add_parser("replay", help="replay an audit-log file or folder through the SDK")
    rp.add_argument("path", type=Path)
    rp.add_argument("--format", choices=("cloudtrail", "k8s-audit-csv", "windows-security-jsonl"))
    rp.add_argument("--tenant", help="create a key for this tenant instead of --api-key")
    rp.add_argument("--no-progress", action="store_true")
    _add_client_args(rp)

    q = sub.add_parser("query", help="print one page of matching events as JSON lines")
    _add_client_args(q)
    _add_filters(q)
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--cursor")

    ex = sub.add_parser("export", help="export matching events (works with the stack stopped)")
    _add_client_args(ex)
    _add_filters(ex)
    ex.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    ex.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    ex.add_argument("--tenant", help="with the stack stopped: the tenant to export")

    tail = sub.add_parser("tail", help="follow new events")
    _add_client_args(tail)
    _add_filters(tail)
    tail.add_argument("--interval", type=float, default=1.0)

    logcmd.add_parsers(sub, _add_client_args)

    demo = sub.add_parser("demo", help="replay the bundled data sets and check the store")
    _add_stack_args(demo)
    demo.add_argument(
        "--datasets",
        type=Path,
        default=datasets_root(),
        help="data set folder (env AUDITPIPE_DATASETS; default: shared/datasets beside the repo)",
    )
    demo.add_argument("--no-progress", action="store_true")
    return parser


def up(args: argparse.Namespace) -> int:
    """Run the stack until Ctrl-C or SIGTERM."""
    from auditpipe_cli.stack import LocalStack

    stack = LocalStack(stack_config(args))
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    with stack:
        info = stack.describe()
        print(f"auditpipe is up (data in {info['data_dir']}, logs in {info['data_dir']}/logs)")
        for k in ("ingest_url", "sequencer_url", "query_url", "redis_url"):
            print(f"  {k:<14} {info[k]}")
        print(f"  {'log key':<14} {stack.data_dir / 'keys' / 'log.pem'} signs checkpoints "
              "(auditpipe verifier-key --tenant T: the public key that checks them)")  # fmt: skip
        if args.tenant:
            from auditpipe_cli.remote import create_key

            key = create_key(stack.config.redis_url, args.tenant)
            print(f"  API key for tenant {args.tenant}: {key}")
        print("Ctrl-C stops it.", flush=True)
        try:
            while not stopping:
                dead = [n for n, p in stack.procs.items() if p.poll() is not None]
                if dead:
                    print(f"process exited: {', '.join(dead)}; stopping", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        print("stopping...", flush=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``auditpipe`` command."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    handlers = {
        "up": up,
        "keys": commands.keys,
        "replay": commands.replay,
        "query": commands.query,
        "export": commands.export,
        "tail": commands.tail,
        "demo": commands.demo,
        "verify": logcmd.verify,
        "proof": logcmd.proof,
        "checkpoint": logcmd.checkpoint,
        "verifier-key": logcmd.print_verifier_key,
    }
    try:
        code = handlers[args.command](args)
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        print(f"auditpipe: error: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
