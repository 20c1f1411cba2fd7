"""The tamper-evident log from the command line: verify, proof, checkpoint, verifier-key.

``verify`` asks the running stack's query API, or, with the stack stopped,
reads the chDB directory itself (like ``export``), trusting the public key of
the local log key (``DATA_DIR/keys/log.pem``) or ``--public-key``. It exits 1
when any log is damaged, naming the first bad position and the kind.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from auditpipe_cli.remote import QueryClient, stack_info
from auditpipe_cli.stack import LOCAL_DEPLOYMENT
from auditpipe_common.tlog import (
    load_private_key,
    log_origin,
    public_key_text,
    receipt_key_name,
    verifier_key,
)


def add_parsers(sub: Any, client_args: Any) -> None:
    """Register the log subcommands (``client_args`` adds --data-dir and --api-key)."""
    v = sub.add_parser("verify", help="check the stored log(s) against the signed checkpoints")
    client_args(v)
    v.add_argument("--tenant", help="with the stack stopped: only this tenant (default: all)")
    v.add_argument("--public-key", action="append", default=[], help="trusted key (repeatable)")
    v.add_argument("--json", action="store_true", help="print the reports as JSON")

    p = sub.add_parser("proof", help="an inclusion (--key) or consistency (--old) proof bundle")
    client_args(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--key", help="idempotency key of the event to prove")
    what.add_argument("--old", type=int, help="size of the older checkpoint")
    p.add_argument("--new", type=int, help="size of the newer checkpoint (default: newest)")
    p.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")

    c = sub.add_parser("checkpoint", help="print the newest signed checkpoint of the key's tenant")
    client_args(c)

    k = sub.add_parser("verifier-key", help="print the key third parties use to check a log")
    k.add_argument("--tenant", required=True)
    k.add_argument("--data-dir", type=Path, default=Path(".auditpipe"))
    k.add_argument("--receipts", action="store_true", help="ingest's receipt key instead")


def _client(args: argparse.Namespace) -> QueryClient | None:
    info = stack_info(args.data_dir)
    if info is None:
        return None
    if not args.api_key:
        raise ValueError("an API key is needed: --api-key or AUDITPIPE_API_KEY")
    return QueryClient(info["query_url"], args.api_key)


def _describe(report: dict[str, Any]) -> str:
    head = f"{report['tenant']} ({report['origin']}): "
    finding = report["finding"]
    if finding:
        where = f" at position {finding['position']}" if finding["position"] is not None else ""
        return head + f"DAMAGED: {finding['kind']}{where}: {finding['detail']}"
    return head + (
        f"OK: {report['size']} positions, {report['verified_size']} covered by "
        f"{report['checkpoints_matched']} of {report['checkpoints']} checkpoints, "
        f"{report['rows']} rows present, {report['expired']} past retention"
    )


def verify(args: argparse.Namespace) -> int:
    """``verify``: exit 0 if every log checked is intact, 1 if one is damaged."""
    client = _client(args)
    if client is not None:
        with client:
            reports = [client.get("/v1/log/verify").json()]
    else:
        reports = _verify_offline(args)
    for report in reports:
        print(json.dumps(report) if args.json else _describe(report))
    return 0 if reports and all(r["ok"] for r in reports) else 1


def _verify_offline(args: argparse.Namespace) -> list[dict[str, Any]]:
    from auditpipe_common.settings import LogSettings, StoreSettings
    from auditpipe_common.store import open_store
    from auditpipe_common.store.logaudit import audit_stored_log
    from auditpipe_common.store.logtables import LogTables
    from auditpipe_common.timeutil import now_us

    path = args.data_dir.resolve() / "chdb"
    if not path.exists():
        raise FileNotFoundError(f"no store at {path}")
    keys = list(args.public_key)
    key_file = args.data_dir / "keys" / "log.pem"
    if not keys and key_file.exists():
        keys = [public_key_text(load_private_key(key_file))]
    if not keys:
        raise ValueError("no trusted key: --public-key, or run in the stack's data directory")
    log = LogSettings(log_deployment=LOCAL_DEPLOYMENT, log_public_keys=keys)
    store = open_store(StoreSettings(store_dsn=SecretStr(f"chdb://{path}")))
    try:
        tables = LogTables(store)
        tenants = [args.tenant] if args.tenant else tables.tenants()
        return [
            audit_stored_log(tables, t, log.log_origin(t), log.log_verifiers(t), now_us()).to_json()
            for t in tenants
        ]
    finally:
        store.close()


def proof(args: argparse.Namespace) -> int:
    """``proof``: write an inclusion or consistency bundle (JSON)."""
    client = _client(args)
    if client is None:
        raise RuntimeError(f"no running stack found for {args.data_dir} (start it: auditpipe up)")
    with client:
        if args.key:
            bundle = client.get("/v1/log/proof", {"key": args.key}).text
        else:
            bundle = client.get("/v1/log/consistency", {"old": args.old, "new": args.new}).text
    text = json.dumps(json.loads(bundle), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def checkpoint(args: argparse.Namespace) -> int:
    """``checkpoint``: print the newest signed checkpoint note."""
    client = _client(args)
    if client is None:
        raise RuntimeError(f"no running stack found for {args.data_dir} (start it: auditpipe up)")
    with client:
        sys.stdout.write(client.get("/v1/log/checkpoint").text)
    return 0


def print_verifier_key(args: argparse.Namespace) -> int:
    """``verifier-key``: the verifier key string of a tenant's log (or of ingest's receipts)."""
    name = "ingest" if args.receipts else "log"
    key = load_private_key(args.data_dir / "keys" / f"{name}.pem")
    if args.receipts:
        print(verifier_key(key, receipt_key_name(LOCAL_DEPLOYMENT)))
    else:
        print(verifier_key(key, log_origin(LOCAL_DEPLOYMENT, args.tenant)))
    return 0
