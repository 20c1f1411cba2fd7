"""``python -m auditpipe_common.tlog``: exit status and messages, using the published vectors."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from auditpipe_common.tlog import InclusionBundle, Verifier, decode_leaf, leaf_json
from auditpipe_common.tlog.cli import main

VECTORS = Path(__file__).resolve().parents[3] / "docs" / "vectors"
VKEY = (VECTORS / "verifier-key-v1.txt").read_text().strip()
RKEY = (VECTORS / "receipt-verifier-key-v1.txt").read_text().strip()
BUNDLE = str(VECTORS / "inclusion-bundle-v1.json")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_inclusion_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "verify-inclusion", "--bundle", BUNDLE, "--key", VKEY, "--show-event"
    )
    assert code == 0
    assert out.startswith("OK: event seq 1035")
    assert "entry 5 of log auditpipe/vectors/acme at tree size 7" in out
    assert json.loads(out.split("\n", 1)[1])["seq"] == 1035


def test_verify_inclusion_tampered(capsys: pytest.CaptureFixture[str]) -> None:
    tampered = str(VECTORS / "inclusion-bundle-v1-tampered.json")
    code, out, err = run(capsys, "verify-inclusion", "--bundle", tampered, "--key", VKEY)
    assert (code, out) == (1, "")
    assert err.startswith("FAILED (verification failed): inclusion proof for leaf 5")


def _split_files(tmp_path: Path) -> tuple[InclusionBundle, Path, Path]:
    bundle = InclusionBundle.loads(Path(BUNDLE).read_bytes())
    cp, proof = tmp_path / "cp.txt", tmp_path / "proof.json"
    cp.write_text(bundle.checkpoint)
    proof.write_text(json.dumps([base64.b64encode(h).decode() for h in bundle.proof]))
    return bundle, cp, proof


@pytest.mark.parametrize("form", ["raw", "base64", "json"])
def test_verify_inclusion_from_separate_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    bundle, cp, proof = _split_files(tmp_path)
    leaf = tmp_path / "leaf"
    if form == "raw":
        leaf.write_bytes(bundle.leaf)
    elif form == "base64":
        leaf.write_text(base64.b64encode(bundle.leaf).decode() + "\n")
    else:
        leaf.write_text(json.dumps(leaf_json(*decode_leaf(bundle.leaf))))
    args = ["verify-inclusion", "--checkpoint", str(cp), "--leaf", str(leaf), "--proof", str(proof)]
    code, out, err = run(capsys, *args, "--index", "5", "--key", VKEY)
    assert (code, err) == (0, "")
    assert out.startswith("OK: event seq 1035")
    code, _, err = run(capsys, *args, "--index", "4", "--key", VKEY)
    assert code == 1
    assert "position 5" in err


def test_keys_file_and_rotation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A keys file trusting a new key and the old one still verifies old checkpoints."""
    name = "auditpipe/vectors/acme"
    code, new_key, _ = run(capsys, "keygen", "--out", str(tmp_path / "new.key"), "--name", name)
    assert code == 0
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# trusted keys, newest first\n{new_key}\n{VKEY}\n")
    checkpoint = str(VECTORS / "checkpoint-v1.txt")
    argv = ["verify-checkpoint", "--checkpoint", checkpoint, "--origin", name]
    code, out, _ = run(capsys, *argv, "--keys-file", str(keys))
    assert code == 0
    assert out.startswith("OK: log auditpipe/vectors/acme size 7 root ")
    assert out.rstrip().endswith(VKEY)
    code, _, err = run(capsys, *argv, "--key", new_key.strip())
    assert code == 1
    assert "no signature from a trusted key" in err


def test_keygen_and_verifier_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.key"
    code, out, _ = run(capsys, "keygen", "--out", str(path), "--name", "auditpipe/prod/acme")
    assert code == 0
    printed = Verifier.parse(out.strip())
    assert printed.name == "auditpipe/prod/acme"
    code, out2, _ = run(
        capsys, "verifier-key", "--key-file", str(path), "--name", "auditpipe/prod/acme"
    )
    assert (code, out2) == (0, out)
    code, _, err = run(capsys, "keygen", "--out", str(path), "--name", "x")
    assert code == 2
    assert "exists" in err


def test_verify_consistency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = str(VECTORS / "consistency-bundle-v1.json")
    code, out, _ = run(capsys, "verify-consistency", "--bundle", bundle, "--key", VKEY)
    assert code == 0
    assert "at size 7 extends its state at size 4" in out
    old, new = str(VECTORS / "checkpoint-v1-size4.txt"), str(VECTORS / "checkpoint-v1.txt")
    code, _, _ = run(
        capsys, "verify-consistency", "--old", old, "--new", new, "--proof", bundle, "--key", VKEY
    )
    assert code == 0
    code, _, err = run(
        capsys, "verify-consistency", "--old", new, "--new", old, "--proof", bundle, "--key", VKEY
    )
    assert code == 1
    assert "larger than new size" in err


def test_verify_receipt(capsys: pytest.CaptureFixture[str]) -> None:
    receipt = str(VECTORS / "receipt-v1.json")
    args = ["verify-receipt", "--receipt", receipt, "--bundle", BUNDLE, "--key", VKEY]
    code, out, _ = run(capsys, *args, "--receipt-key", RKEY)
    assert code == 0
    assert out.startswith(
        "OK: event 1 of the receipt is the event proven below\nOK: event seq 1035"
    )
    code, _, err = run(capsys, *args)
    assert code == 1
    assert "no signature from a trusted key" in err


def test_leaf_hash(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bundle = InclusionBundle.loads(Path(BUNDLE).read_bytes())
    leaf = tmp_path / "leaf.bin"
    leaf.write_bytes(bundle.leaf)
    code, out, _ = run(capsys, "leaf-hash", "--leaf", str(leaf))
    assert code == 0
    assert out.splitlines()[0] == "index 5"


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["verify-inclusion", "--bundle", BUNDLE], 2, "at least one trusted verifier key"),
        (["verify-inclusion", "--key", VKEY], 2, "give --bundle"),
        (["verify-inclusion", "--bundle", BUNDLE, "--proof", BUNDLE, "--key", VKEY], 2, "replaces"),
        (["verify-consistency", "--key", VKEY], 2, "give --bundle"),
        (["verify-inclusion", "--bundle", "/nonexistent/b.json", "--key", VKEY], 2, "nonexistent"),
        (["verify-inclusion", "--bundle", BUNDLE, "--key", "not-a-key"], 1, "malformed input"),
        (
            ["verify-inclusion", "--bundle", str(VECTORS / "checkpoint-v1.txt"), "--key", VKEY],
            1,
            "JSON",
        ),
        (["verify-checkpoint", "--checkpoint", BUNDLE, "--key", VKEY], 1, "malformed input"),
    ],
)
def test_failures_exit_non_zero_with_a_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, *argv)
    assert (got, out) == (code, "")
    assert message in err


def test_module_entry_point() -> None:
    argv = ["verify-inclusion", "--bundle", BUNDLE, "--key", VKEY]
    proc = subprocess.run(
        [sys.executable, "-m", "auditpipe_common.tlog", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK:")
    proc = subprocess.run(
        [sys.executable, "-m", "auditpipe_common.tlog"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
