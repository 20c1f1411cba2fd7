"""``python -m auditpipe_common.tlog``: key generation and the standalone verifier.

Exit status: 0 verified (or done), 1 verification failed or input malformed,
2 usage error or unreadable file. Failures are explained on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from auditpipe_common.tlog.bundle import (
    ConsistencyBundle,
    InclusionBundle,
    load_json,
    parse_proof_hashes,
)
from auditpipe_common.tlog.checkpoint import open_checkpoint
from auditpipe_common.tlog.codec import b64, decode_b64
from auditpipe_common.tlog.errors import FormatError, TlogError
from auditpipe_common.tlog.keys import generate_key_file, load_private_key, verifier_key
from auditpipe_common.tlog.leaf import LEAF_TAG, decode_leaf, leaf_bytes
from auditpipe_common.tlog.leafjson import leaf_from_json, leaf_json
from auditpipe_common.tlog.merkle import hash_leaf
from auditpipe_common.tlog.note import Verifier
from auditpipe_common.tlog.receipt import EventReceipt
from auditpipe_common.tlog.verify import (
    InclusionResult,
    verify_checkpoint_consistency,
    verify_consistency_bundle,
    verify_event_inclusion,
    verify_inclusion_bundle,
    verify_receipt_inclusion,
)

_RAW_LEAF = len(LEAF_TAG).to_bytes(4, "big") + LEAF_TAG.encode()


class UsageError(Exception):
    """Bad command-line use (exit status 2)."""


def _verifiers(args: argparse.Namespace, attr: str = "key") -> list[Verifier]:
    texts = list(getattr(args, attr) or [])
    for path in getattr(args, attr + "s_file") or []:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        texts += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not texts:
        raise UsageError(f"give at least one trusted verifier key (--{attr} or --{attr}s-file)")
    return [Verifier.parse(t) for t in texts]


def read_leaf(path: str, index: int | None) -> tuple[bytes, int]:
    """Leaf bytes from a file: raw leaf bytes, their base64, or the leaf JSON form."""
    data = Path(path).read_bytes()
    if not data.startswith(_RAW_LEAF):
        text = data.decode("utf-8", errors="replace").strip()
        if text.startswith("{"):
            ev, leaf_index = leaf_from_json(load_json(text, "leaf JSON"))
            data = leaf_bytes(ev, leaf_index)
        else:
            data = decode_b64(text, "leaf file")
    leaf_index = decode_leaf(data)[1]
    return data, leaf_index if index is None else index


def read_proof(path: str) -> tuple[bytes, ...]:
    """Proof hashes from a file: a JSON list of base64 hashes, or an object with "proof"."""
    obj = load_json(Path(path).read_bytes(), "proof file")
    return parse_proof_hashes(obj.get("proof") if isinstance(obj, dict) else obj)


def _report_inclusion(result: InclusionResult, show_event: bool) -> None:
    cp, ev = result.checkpoint, result.event
    print(
        f"OK: event seq {ev.seq} (idempotency key {ev.idempotency_key}) is entry {result.index} "
        f"of log {cp.origin} at tree size {cp.size}; signed by {', '.join(result.signers)}"
    )
    if show_event:
        print(json.dumps(leaf_json(ev, result.index), indent=2, ensure_ascii=False))


def cmd_keygen(args: argparse.Namespace) -> None:
    """Write a new private key file and print its verifier key."""
    print(verifier_key(generate_key_file(args.out), args.name))


def cmd_verifier_key(args: argparse.Namespace) -> None:
    """Print the verifier key of a private key file under a name."""
    print(verifier_key(load_private_key(args.key_file), args.name))


def cmd_verify_checkpoint(args: argparse.Namespace) -> None:
    """Verify one signed checkpoint."""
    text = Path(args.checkpoint).read_bytes()
    signed = open_checkpoint(text, _verifiers(args), origin=args.origin)
    cp = signed.checkpoint
    signers = ", ".join(v.encode() for v in signed.note.verified_by)
    print(f"OK: log {cp.origin} size {cp.size} root {b64(cp.root_hash)} signed by {signers}")


def cmd_verify_inclusion(args: argparse.Namespace) -> None:
    """Verify that one event is in a log, from a bundle or from separate files."""
    trusted = _verifiers(args)
    if args.bundle:
        if args.checkpoint or args.leaf or args.proof:
            raise UsageError("--bundle replaces --checkpoint, --leaf and --proof")
        bundle = InclusionBundle.loads(Path(args.bundle).read_bytes())
        result = verify_inclusion_bundle(bundle, trusted, origin=args.origin)
    else:
        if not (args.checkpoint and args.leaf and args.proof):
            raise UsageError("give --bundle, or --checkpoint, --leaf and --proof")
        leaf, index = read_leaf(args.leaf, args.index)
        checkpoint = Path(args.checkpoint).read_bytes()
        proof = read_proof(args.proof)
        result = verify_event_inclusion(checkpoint, leaf, index, proof, trusted, origin=args.origin)
    _report_inclusion(result, args.show_event)


def cmd_verify_consistency(args: argparse.Namespace) -> None:
    """Verify that a newer checkpoint extends an older one."""
    trusted = _verifiers(args)
    if args.bundle:
        if args.old or args.new or args.proof:
            raise UsageError("--bundle replaces --old, --new and --proof")
        bundle = ConsistencyBundle.loads(Path(args.bundle).read_bytes())
        result = verify_consistency_bundle(bundle, trusted, origin=args.origin)
    else:
        if not (args.old and args.new and args.proof):
            raise UsageError("give --bundle, or --old, --new and --proof")
        old, new = Path(args.old).read_bytes(), Path(args.new).read_bytes()
        proof = read_proof(args.proof)
        result = verify_checkpoint_consistency(old, new, proof, trusted, origin=args.origin)
    print(
        f"OK: log {result.old.origin} at size {result.new.size} extends its state at size "
        f"{result.old.size} (append-only)"
    )


def cmd_verify_receipt(args: argparse.Namespace) -> None:
    """Verify that the event of a signed receipt is in the log."""
    trusted = _verifiers(args)
    own_keys = args.receipt_key or args.receipt_keys_file
    receipt_keys = _verifiers(args, "receipt_key") if own_keys else None
    bundle = InclusionBundle.loads(Path(args.bundle).read_bytes())
    receipt = EventReceipt.loads(Path(args.receipt).read_bytes())
    _, result = verify_receipt_inclusion(receipt, bundle, trusted, receipt_verifiers=receipt_keys)
    print(f"OK: event {receipt.index} of the receipt is the event proven below")
    _report_inclusion(result, args.show_event)


def cmd_leaf_hash(args: argparse.Namespace) -> None:
    """Print the canonical leaf bytes (base64) and leaf hash (hex) of a leaf file."""
    leaf, index = read_leaf(args.leaf, None)
    print(f"index {index}\nleaf-hash {hash_leaf(leaf).hex()}\nleaf {b64(leaf)}")


def _add_keys(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", action="append", metavar="VKEY", help="trusted verifier key (repeat)")
    p.add_argument("--keys-file", action="append", metavar="FILE", help="file of verifier keys")
    p.add_argument("--origin", help="require checkpoints of this log (e.g. auditpipe/prod/acme)")


def _key_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keygen", help="create an Ed25519 key file (PEM) and print its verifier key")
    p.add_argument("--out", required=True, help="private key file to create (mode 0600)")
    p.add_argument("--name", required=True, help="key name, e.g. auditpipe/prod/acme")
    p.set_defaults(func=cmd_keygen)
    p = sub.add_parser("verifier-key", help="print the verifier key of a private key file")
    p.add_argument("--key-file", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(func=cmd_verifier_key)
    p = sub.add_parser("leaf-hash", help="print the canonical bytes and hash of a leaf file")
    p.add_argument("--leaf", required=True)
    p.set_defaults(func=cmd_leaf_hash)


def _verify_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify-checkpoint", help="check a signed checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.set_defaults(func=cmd_verify_checkpoint)
    _add_keys(p)
    p = sub.add_parser("verify-inclusion", help="check that an event is in a log")
    for flag in ("--bundle", "--checkpoint", "--leaf", "--proof"):
        p.add_argument(flag)
    p.add_argument("--index", type=int, help="leaf position (default: the one in the leaf)")
    p.add_argument("--show-event", action="store_true", help="print the proven event")
    p.set_defaults(func=cmd_verify_inclusion)
    _add_keys(p)
    p = sub.add_parser("verify-consistency", help="check that a checkpoint extends an older one")
    for flag in ("--bundle", "--old", "--new", "--proof"):
        p.add_argument(flag)
    p.set_defaults(func=cmd_verify_consistency)
    _add_keys(p)
    p = sub.add_parser("verify-receipt", help="check that a receipt's event is in a log")
    p.add_argument("--receipt", required=True, help="event receipt (JSON)")
    p.add_argument("--bundle", required=True, help="inclusion bundle of the event")
    p.add_argument("--receipt-key", action="append", metavar="VKEY", help="receipt signer key")
    p.add_argument("--receipt-keys-file", action="append", metavar="FILE")
    p.add_argument("--show-event", action="store_true")
    p.set_defaults(func=cmd_verify_receipt)
    _add_keys(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the tool."""
    parser = argparse.ArgumentParser(
        prog="python -m auditpipe_common.tlog",
        description="auditpipe tamper evidence: keys and the offline verifier "
        "(see docs/verification.md)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _key_commands(sub)
    _verify_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except TlogError as exc:
        kind = "malformed input" if isinstance(exc, FormatError) else "verification failed"
        print(f"FAILED ({kind}): {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
