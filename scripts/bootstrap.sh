#!/usr/bin/env bash
# Installs what a fresh machine lacks for auditpipe: redis-server, faketime and strace
# (Debian; tests use the last two) and uv (PyPI).
set -euo pipefail
need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v faketime >/dev/null || need_apt+=(faketime)
command -v strace >/dev/null || need_apt+=(strace)
if ((${#need_apt[@]})); then
  echo "bootstrap: installing ${need_apt[*]} with apt-get" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # The Debian package starts a system redis on 6379; auditpipe runs its own, so stop that one.
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null; then
  echo "bootstrap: installing uv with pip" >&2
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
fi
command -v uv >/dev/null || { echo "bootstrap: uv is not on PATH (try ~/.local/bin)" >&2; exit 1; }
