#!/usr/bin/env bash
# End to end on a kind cluster, for machines WITH a Docker engine (ours have none: this
# script has never been run on them; see docs/kubernetes.md).
#
#   1. create a kind cluster (or reuse one of that name)
#   2. build the five images from this checkout and load them into the cluster
#   3. helm install the chart (the operator runs in the cluster)
#   4. kubectl apply examples/auditpipeline.yaml (with the images built here), wait Ready
#   5. through port-forwards: get sequence numbers, send three events, query them back
#   6. optionally (E2E_SUITE=1) run the e2e test suite against this cluster too
#
# Needs: docker, kind, kubectl, helm, curl, python3 (and uv for E2E_SUITE=1).
# Environment: CLUSTER (auditpipe-e2e), TAG (e2e), KEEP_CLUSTER=1 to keep the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-auditpipe-e2e}
TAG=${TAG:-e2e}
REGISTRY=ghcr.io/auditpipe
NS=audit-e2e
PIDS=()

log() { printf '[e2e-kind] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ "${KEEP_CLUSTER:-}" != 1 ]]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

for tool in docker kind kubectl helm curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
docker info >/dev/null 2>&1 || fail "no Docker engine answers (docker info)"

log "1. kind cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 180s
export KUBECONFIG="${KUBECONFIG_KIND:-$(mktemp)}"
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG"

log "2. images $REGISTRY/*:$TAG"
declare -A DOCKERFILES=(
  [ingest]=services/ingest/Dockerfile [worker]=services/worker/Dockerfile
  [sequencer]=services/sequencer/Dockerfile [query]=services/query/Dockerfile
  [operator]=operator/Dockerfile
)
for image in "${!DOCKERFILES[@]}"; do
  docker build -f "${DOCKERFILES[$image]}" -t "$REGISTRY/$image:$TAG" .
  kind load docker-image "$REGISTRY/$image:$TAG" --name "$CLUSTER"
done

log "3. helm install"
helm upgrade --install auditpipe charts/auditpipe -n auditpipe-system --create-namespace \
  --set image.tag="$TAG" --set image.pullPolicy=IfNotPresent --wait --timeout 5m

log "4. the example pipeline in namespace $NS"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
images=""
for c in ingest sequencer worker query; do
  images+=$(printf '"%s":{"repository":"%s/%s","tag":"%s"},' "$c" "$REGISTRY" "$c" "$TAG")
done
kubectl patch --local -f examples/auditpipeline.yaml --type=merge -o yaml \
  -p "{\"spec\":{\"images\":{${images}\"pullPolicy\":\"IfNotPresent\"}}}" | kubectl apply -n "$NS" -f -
kubectl wait -n "$NS" auditpipeline/audit --for=condition=Ready --timeout=10m
KEY=$(kubectl get secret -n "$NS" audit-credentials -o jsonpath='{.data.api-key}' | base64 -d)

log "5. events through port-forwards"
forward() {  # service local-port remote-port
  kubectl port-forward -n "$NS" "svc/$1" "$2:$3" >/dev/null 2>&1 &
  PIDS+=($!)
}
forward audit-sequencer 18701 8701
forward audit-ingest 18700 8700
forward audit-query 18702 8702
call() {  # method port path [json]: retried while the port-forward starts
  local i
  for i in $(seq 1 60); do
    if curl -fsS -X "$1" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
         "http://127.0.0.1:$2$3" ${4:+--data "$4"}; then return 0; fi
    sleep 1
  done
  return 1
}
range=$(call POST 18701 /v1/sequence '{"count": 3}') || fail "sequencer"
first=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["first"])' <<<"$range")
batch=$(python3 - "$first" <<'EOF'
import json, sys, uuid
first = int(sys.argv[1])
print(json.dumps({"events": [
    {"idempotency_key": str(uuid.uuid4()), "seq": first + i, "action": "e2e.kind",
     "occurred_at": "2026-01-01T00:00:00Z", "actor": {"id": f"user-{i}"}}
    for i in range(3)]}))
EOF
)
call POST 18700 /v1/events "$batch" >/dev/null || fail "ingest"
for _ in $(seq 1 120); do
  found=$(call GET 18702 '/v1/events?action=e2e.kind' |
          python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))') || found=0
  [[ "$found" == 3 ]] && break
  sleep 1
done
[[ "$found" == 3 ]] || fail "queried $found of the 3 events back"
log "3 events sent through ingest and queried back"

if [[ "${E2E_SUITE:-}" == 1 ]]; then
  log "6. the e2e suite against this cluster (operator in cluster, images :$TAG)"
  helm uninstall auditpipe -n auditpipe-system --wait  # the suite installs its own release
  AUDITPIPE_E2E_IMAGE_TAG="$TAG" AUDITPIPE_E2E_OPERATOR=in-cluster \
    uv run pytest -m e2e tests/e2e
fi
log "OK"
