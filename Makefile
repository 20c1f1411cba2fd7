# auditpipe — run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
DATASETS ?=
PYTEST_ARGS ?=
export NO_PROXY := 127.0.0.1,localhost
# pip --user puts uv in ~/.local/bin, which a fresh shell may not have on PATH.
export PATH := $(HOME)/.local/bin:$(PATH)
export UV_CACHE_DIR ?= $(HOME)/.cache/auditpipe/uv

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: bootstrap
bootstrap: ## Install system packages (redis-server) and uv if missing
	@scripts/bootstrap.sh

.PHONY: sync
sync: bootstrap ## Install the Python workspace (uv, locked)
	$(UV) sync --all-packages --locked

.PHONY: demo
demo: sync ## The main job: run the local stack and replay the real audit logs (DATASETS=dir to override)
	$(UV) run auditpipe demo $(if $(DATASETS),--datasets $(DATASETS)) --data-dir .auditpipe/demo

.PHONY: up
up: sync ## Run the local stack in the foreground (Ctrl-C stops it)
	$(UV) run auditpipe up

.PHONY: fmt
fmt: ## Format the code
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

.PHONY: lint
lint: ## ruff (lint + format check) and import-linter contracts
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

.PHONY: typecheck
typecheck: ## mypy --strict on every package
	$(UV) run mypy

.PHONY: generate
generate: ## Regenerate the protobuf code from proto/ and the CRD from the operator's models
	$(UV) run python -m grpc_tools.protoc -Iproto --python_out=packages/common/src \
		--mypy_out=packages/common/src proto/auditpipe_common/schema/v1/events.proto
	$(UV) run python -m auditpipe_operator.crdgen

.PHONY: verify
verify: ## Fail if generated code differs from what `make generate` produces
	@scripts/verify-generated.sh

.PHONY: unit
unit: sync ## Fast tests only (no servers)
	$(UV) run pytest -m "not integration and not stack and not faults and not e2e" $(PYTEST_ARGS)

.PHONY: faults
faults: sync ## The fault matrix: kill and break real processes; updates docs/reliability.md
	$(UV) run pytest -m faults $(PYTEST_ARGS)

.PHONY: test
test: sync lint typecheck verify ## Every check and test (faults and the Kubernetes e2e included)
	$(UV) run pytest -m "not e2e" $(PYTEST_ARGS)
	$(MAKE) --no-print-directory e2e

.PHONY: e2e
e2e: sync ## Kubernetes e2e (chart, operator): builds the control plane (cached) and runs on it (or on KUBECONFIG)
	scripts/controlplane/build.sh
	$(UV) run pytest -m e2e tests/e2e $(PYTEST_ARGS)

.PHONY: bench
bench: sync ## End-to-end throughput and latency as ratios to raw Redis / raw chDB ceilings
	$(UV) run python -m bench.pipeline

.PHONY: soak
soak: sync ## Memory under sustained load and backpressure (worker frozen for a third of the run)
	$(UV) run python -m bench.soak
