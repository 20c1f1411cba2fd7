#!/usr/bin/env bash
# Build (or reuse) the binaries of a real Kubernetes control plane for the e2e tests:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, helm, kwok.
#
# Everything is built from Go modules (the Go module proxy is the only source needed);
# no Docker, no kind, no downloads of release tarballs. The versions are pinned by the
# wrapper modules next to this script (scripts/controlplane/<component>/go.mod + go.sum).
#
# Output: ${AUDITPIPE_CONTROLPLANE_CACHE:-~/.cache/auditpipe/controlplane}/<k8s-version>/bin/
# (outside the repo, keyed by the Kubernetes version). A binary whose stamp matches its
# wrapper module and build flags is not rebuilt, so a second run takes seconds.
#
# Usage:
#   scripts/controlplane/build.sh                  build everything that is missing
#   scripts/controlplane/build.sh kubectl helm     build only these components
#   scripts/controlplane/build.sh --print-bin-dir  print the bin dir and exit (no build)
#   scripts/controlplane/build.sh --force ...      rebuild even if the stamp matches
#   K8S_VERSION=v1.38.1 scripts/controlplane/build.sh --regenerate-kubernetes-wrapper
#                                                  rewrite kubernetes/go.mod for another release
#
# Resource use: by default one core at nice 19 (GOMAXPROCS=1, go build -p 1), because the
# machines are shared 2-core boxes. Override with CONTROLPLANE_BUILD_JOBS=2 for a faster,
# greedier build.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JOBS="${CONTROLPLANE_BUILD_JOBS:-1}"

export GOTOOLCHAIN=local     # fail fast instead of fetching another Go toolchain
export CGO_ENABLED=0         # all of these are static, pure-Go binaries upstream
export GOMAXPROCS="${GOMAXPROCS:-$JOBS}"
export GOFLAGS="-p=$JOBS -mod=readonly -buildvcs=false"

log() { printf '[controlplane-build] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (Go >= 1.26 is needed)"

# Version of a module as pinned by the wrapper module in directory $1.
mod_version() { (cd "$HERE/$1" && go list -m -f '{{.Version}}' "$2"); }
# Commit/tag time of that version (RFC 3339), used as a reproducible build date.
mod_time() { (cd "$HERE/$1" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$2"); }

regenerate_kubernetes_wrapper() {
  local v="${K8S_VERSION:?set K8S_VERSION=v1.X.Y}" dir="$HERE/kubernetes" gomod staging m
  gomod="$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$gomod" ]] || die "cannot download k8s.io/kubernetes@$v"
  # Every staging module of the release: left-hand sides of "=> ./staging/..." replaces.
  staging="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod")"
  local staging_version="v0.${v#v1.}"
  {
    echo "module auditpipe.invalid/controlplane/kubernetes"
    echo
    grep -E '^go [0-9]' "$gomod"
    grep -E '^godebug ' "$gomod" || true
  } > "$dir/go.mod"
  : > "$dir/go.sum"
  for m in $staging; do
    (cd "$dir" && go mod edit "-replace=$m=$m@$staging_version")
  done
  (cd "$dir" && GOFLAGS=-mod=mod nice -n 19 go get -tool \
    "k8s.io/kubernetes/cmd/kube-apiserver@$v" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$v" \
    "k8s.io/kubernetes/cmd/kube-scheduler@$v" \
    "k8s.io/kubernetes/cmd/kubectl@$v")
  log "kubernetes/go.mod now pins $v with $(wc -w <<<"$staging") staging replaces"
}

FORCE=0
PRINT_BIN_DIR=0
COMPONENTS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --print-bin-dir) PRINT_BIN_DIR=1 ;;
    --regenerate-kubernetes-wrapper) regenerate_kubernetes_wrapper; exit 0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|helm|kwok) COMPONENTS+=("$arg") ;;
    *) die "unknown argument: $arg" ;;
  esac
done
if [[ ${#COMPONENTS[@]} -eq 0 ]]; then
  COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl helm kwok)
fi

K8S_VERSION="$(mod_version kubernetes k8s.io/kubernetes)"
CACHE_ROOT="${AUDITPIPE_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/auditpipe/controlplane}"
OUT="$CACHE_ROOT/$K8S_VERSION"
BIN="$OUT/bin"
if [[ $PRINT_BIN_DIR -eq 1 ]]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$BIN" "$OUT/stamps" "$OUT/logs"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# build_one NAME WRAPPER_DIR PACKAGE LDFLAGS
# Builds PACKAGE inside WRAPPER_DIR into $BIN/NAME unless the stamp says it is up to date.
# The stamp covers the wrapper's go.mod/go.sum, the ldflags and the Go version.
build_one() {
  local name="$1" dir="$2" pkg="$3" ldflags="$4" stamp want t0 rc
  want="$( { cat "$HERE/$dir/go.mod" "$HERE/$dir/go.sum"; echo "$pkg $ldflags"; go env GOVERSION; } | sha256sum | cut -c1-64)"
  stamp="$OUT/stamps/$name"
  if [[ $FORCE -eq 0 && -x "$BIN/$name" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "$name: up to date, skipped"
    return 0
  fi
  log "$name: building $pkg ..."
  t0="$(now)"
  rc=0
  (cd "$HERE/$dir" && nice -n 19 /usr/bin/env go build -trimpath -ldflags "$ldflags" \
     -o "$BIN/$name.tmp" "$pkg") >"$OUT/logs/build-$name.log" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    log "$name: FAILED after $(elapsed "$t0") s (log: $OUT/logs/build-$name.log)"
    tail -n 20 "$OUT/logs/build-$name.log" >&2
    rm -f "$BIN/$name.tmp"
    return $rc
  fi
  mv -f "$BIN/$name.tmp" "$BIN/$name"
  echo "$want" > "$stamp"
  log "$name: built in $(elapsed "$t0") s"
}

kube_ldflags() {
  local v="$K8S_VERSION" date minor pkg flags="-s -w"
  date="$(mod_time kubernetes k8s.io/kubernetes)"
  minor="${v#v1.}"; minor="${minor%%.*}"
  # Same variables upstream's hack/lib/version.sh sets; without them /version says
  # v0.0.0-master+$Format:%H$ and helm's kubeVersion checks fail.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$flags"
}

write_kwok_stages() {
  # Standalone kwok has no built-in stages: it needs them via --config. Concatenate the
  # upstream "fast" node/pod stages that ship inside the kwok module.
  local v dir f out="$BIN/kwok-stages.yaml"
  v="$(mod_version kwok sigs.k8s.io/kwok)"
  dir="$(cd "$HERE/kwok" && go mod download -json "sigs.k8s.io/kwok@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir" ]] || { log "kwok: cannot locate module source for stages"; return 1; }
  {
    echo "# Generated by scripts/controlplane/build.sh from sigs.k8s.io/kwok@$v kustomize/stage"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$dir/kustomize/stage/$f"
    done
  } > "$out.tmp"
  mv -f "$out.tmp" "$out"
}

T_ALL="$(now)"
log "Kubernetes $K8S_VERSION -> $BIN (go: $(go env GOVERSION), jobs: $JOBS)"
FAILED=()
for c in "${COMPONENTS[@]}"; do
  case "$c" in
    etcd)
      build_one etcd etcd go.etcd.io/etcd/server/v3 "-s -w" || FAILED+=(etcd) ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubectl)
      build_one "$c" kubernetes "k8s.io/kubernetes/cmd/$c" "$(kube_ldflags)" || FAILED+=("$c") ;;
    helm)
      hv="$(mod_version helm helm.sh/helm/v4)"
      build_one helm helm helm.sh/helm/v4/cmd/helm \
        "-s -w -X helm.sh/helm/v4/internal/version.version=$hv -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
        || FAILED+=(helm) ;;
    kwok)
      # Optional: without kwok, pods are never Running/Ready (there is no kubelet).
      kv="$(mod_version kwok sigs.k8s.io/kwok)"
      if build_one kwok kwok sigs.k8s.io/kwok/cmd/kwok \
           "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kv -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$K8S_VERSION"; then
        write_kwok_stages || log "kwok: WARNING: could not write kwok-stages.yaml"
      else
        log "kwok: WARNING: optional component failed; the control plane will run without it"
      fi ;;
  esac
done

{
  echo "kubernetes=$K8S_VERSION"
  echo "etcd=$(mod_version etcd go.etcd.io/etcd/server/v3)"
  echo "helm=$(mod_version helm helm.sh/helm/v4)"
  echo "kwok=$(mod_version kwok sigs.k8s.io/kwok)"
  echo "go=$(go env GOVERSION)"
} > "$OUT/versions.txt"

log "total: $(elapsed "$T_ALL") s"
ls -la "$BIN" >&2
if [[ ${#FAILED[@]} -gt 0 ]]; then
  die "failed: ${FAILED[*]}"
fi
echo "$BIN"
