"""``python -m auditpipe_operator.crdgen [--check] [--root DIR]``: write or check the CRD files.

Writes ``crds/auditpipe.dev_auditpipelines.yaml`` (for ``kubectl apply``) and
``charts/auditpipe/templates/crd-auditpipelines.yaml`` (a chart template, so
``helm upgrade`` upgrades it; annotated ``helm.sh/resource-policy: keep`` so
``helm uninstall`` leaves it and every AuditPipeline in place).
``--check`` writes nothing and exits 1 if a file differs from what it would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auditpipe_operator.crdgen.render import render_files


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m auditpipe_operator.crdgen")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for relative, text in render_files().items():
        path = args.root / relative
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(relative)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {relative}")
    for relative in stale:
        print(f"{relative} is out of date: run 'make generate' and commit", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
