#!/usr/bin/env bash
# Regenerates the protobuf code into a temporary folder and fails on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
uv run python -m grpc_tools.protoc -Iproto --python_out="$tmp" --mypy_out="$tmp" \
  proto/auditpipe_common/schema/v1/events.proto >/dev/null
for f in events_pb2.py events_pb2.pyi; do
  if ! diff -u "packages/common/src/auditpipe_common/schema/v1/$f" \
      "$tmp/auditpipe_common/schema/v1/$f"; then
    echo "generated $f is out of date: run 'make generate' and commit" >&2; exit 1
  fi
done
echo "generated code is up to date"
