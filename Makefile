# Webhook receivers: local stack and test pipeline.
#   make dev    - moto + table/secrets + `cargo lambda watch` on http://127.0.0.1:9000 (Ctrl-C stops all)
#   make test   - fmt check, clippy -D warnings, unit/handler tests, end-to-end suite, SAM checks (= .ci/run)
# Tools are installed, pinned, into git-ignored virtualenvs under .venv/ (scripts/tools.sh).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

MOTO_VENV    := .venv/moto
E2E_PYTEST   := $(MOTO_VENV)/bin/python -m pytest
E2E_ARGS     ?=

.PHONY: help tools tools-moto tools-cargo-lambda dev test fmt-check clippy unit e2e local-aws-table sam-checks sam-lint

help:
	@echo "make dev    - run the four functions locally against moto (http://127.0.0.1:9000/lambda-url/<binary>/)"
	@echo "make test   - fmt-check, clippy, unit, e2e (what CI runs)"
	@echo "make tools  - install the pinned tools into .venv/ (moto, pytest, boto3, requests, cargo-lambda)"
	@echo "make fmt-check | clippy | unit | e2e | sam-checks  - the steps of 'make test' one by one"
	@echo "make sam-lint - quick template checks (validate, cfn-lint, checkov, template tests) without sam build"

tools:
	scripts/tools.sh

tools-moto:
	scripts/tools.sh moto

tools-cargo-lambda:
	scripts/tools.sh cargo-lambda

dev:
	scripts/dev.sh

test:
	$(MAKE) --no-print-directory fmt-check
	$(MAKE) --no-print-directory clippy
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory sam-checks

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

# End-to-end: moto, the fault proxy and several `cargo lambda watch` instances on free loopback
# ports; everything started is stopped by pid afterwards (see tests/e2e/conftest.py).
e2e: tools
	$(E2E_PYTEST) tests/e2e -p no:cacheprovider -ra $(E2E_ARGS)

# Print the DynamoDB table definition that local_aws.py creates (for comparing with template.yaml).
local-aws-table: tools-moto
	$(MOTO_VENV)/bin/python scripts/local_aws.py --print-table-definition

# SAM: sam validate --lint, cfn-lint, checkov, sam build (x86_64), template tests (scripts/sam_checks.sh).
sam-checks:
	scripts/sam_checks.sh

sam-lint:
	scripts/sam_checks.sh lint test

# Verification micro-benchmarks (criterion, about 5 minutes on 2 cores plus the first build):
# our verifiers against a bare HMAC-SHA256 by ring and svix's Webhook::verify. bench/ is its own
# workspace (root Cargo.toml `exclude`), so `make test` never builds it. Writes bench/REPORT.md.
.PHONY: bench
bench:
	cd bench && cargo bench --bench verify
	python3 bench/report.py
