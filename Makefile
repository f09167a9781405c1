# Webhook receivers: local stack and test pipeline.
#   make dev    - moto + table/secrets + `cargo lambda watch` on http://127.0.0.1:9000 (Ctrl-C stops all)
#   make test   - fmt check, clippy -D warnings, unit/handler tests, end-to-end suite, SAM checks (= .ci/run)
# Tools are installed, pinned, into git-ignored virtualenvs under .venv/ (scripts/tools.sh).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

MOTO_VENV    := .venv/moto
PEER_VENV    := .venv/peer
CARGO_LAMBDA := .venv/cargo-lambda/bin/cargo-lambda
TARGET_DIR   := $(or $(CARGO_TARGET_DIR),target)
E2E_PYTEST   := $(MOTO_VENV)/bin/python -m pytest
E2E_ARGS     ?=
MEMORY_ARGS  ?=

# Rewrite events/<provider>/<front door>.json: sample Lambda events signed with the local stack's
# secrets (scripts/sample_events.py), for `sam local invoke -e` and `cargo lambda invoke --data-file`.
.PHONY: events
events:
	cargo build --bin webhooks
	WEBHOOKS_CLI=$(TARGET_DIR)/debug/webhooks python3 scripts/sample_events.py

.PHONY: help tools tools-moto tools-cargo-lambda tools-peer dev test fmt-check clippy unit drill e2e bench-smoke local-aws-table sam-checks sam-lint

help:
	@echo "make dev    - run the functions locally against moto (http://127.0.0.1:9000/lambda-url/<binary>/)"
	@echo "make test   - fmt-check, clippy, unit, e2e (what CI runs)"
	@echo "make tools  - install the pinned tools into .venv/ (moto, pytest, boto3, requests, cargo-lambda)"
	@echo "make fmt-check | clippy | unit | drill | e2e | bench-smoke | sam-checks  - the steps of 'make test' one by one"
	@echo "make sam-lint - quick template checks (validate, cfn-lint, checkov, template tests) without sam build"
	@echo "make events - rewrite the signed sample Lambda events under events/ (sam local, cargo lambda invoke)"
	@echo "make bench  - all benchmarks against the limits and a Python peer -> bench/REPORT.md (not a test)"

tools:
	scripts/tools.sh

tools-moto:
	scripts/tools.sh moto

tools-cargo-lambda:
	scripts/tools.sh cargo-lambda

tools-peer:
	scripts/tools.sh peer

dev:
	scripts/dev.sh

test:
	$(MAKE) --no-print-directory fmt-check
	$(MAKE) --no-print-directory clippy
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory drill
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory bench-smoke
	$(MAKE) --no-print-directory sam-checks

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

unit:
	cargo test --workspace

# The adding-a-provider drill (docs/adding-a-provider.md): no provider named in shipping code
# outside its crate, its fixtures, the registry and the SAM application; and no two modules of a
# crate importing each other.
drill:
	python3 scripts/drill.py --self-test
	python3 scripts/drill.py --check
	python3 scripts/module_cycles.py --self-test
	python3 scripts/module_cycles.py

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

# Smoke run of the start-up harness, part of `make test` so it cannot rot (it checks
# correctness, not speed): our function and the Python peer (bench/peer) each get 1 cold + 4 warm
# signed events and 1 forged one through bench/startup/runtime_api.py, against their own moto
# servers on free loopback ports; non-zero exit on any answer other than 200 stored / 401, an
# event missing from DynamoDB, or a forged one stored. Everything it starts is stopped by pid.
# Its results then go through bench/report.py (into a temporary directory, deleted afterwards;
# bench/target and bench/REPORT.md are left alone), so a key the report reads and the harness no
# longer writes fails here too.
# Then the worst-case memory check (bench/memory.py, issue 12): every receiver at its template
# body cap, adversarial bodies signed and forged; non-zero exit when one request's peak RSS
# (VmHWM) is over 64 MiB, half of the functions' 128 MB, or an answer is not the expected one
# (about 35 s; MEMORY_ARGS passes options, e.g. MEMORY_ARGS='--cap alocity-selfie=262144').
# It runs the debug binaries, which `make unit` and `make e2e` have already built (the cargo build
# below is then a no-op): a release build would add about 10 minutes. Installs the moto and peer
# venvs itself (about 20 s for the peer the first time); the start-up run itself takes under 10 s.
bench-smoke: tools-moto tools-peer
	bin=$$($(MOTO_VENV)/bin/python bench/startup/harness.py --print-binary) && \
	cargo build $$(python3 scripts/registry.py binaries | sed 's/^/--bin /') && \
	results=$$(mktemp -d) && trap 'rm -rf "$$results"' EXIT && \
	$(MOTO_VENV)/bin/python bench/startup/harness.py --runs 1 --warm 4 \
	  --rust-bin "$(TARGET_DIR)/debug/$$bin" --peer-python $(PEER_VENV)/bin/python \
	  --out "$$results/startup.json" && \
	$(MOTO_VENV)/bin/python bench/memory.py --bin-dir "$(TARGET_DIR)/debug" --out "$$results/memory.json" $(MEMORY_ARGS) && \
	python3 bench/report.py --results-dir "$$results" --out "$$results/REPORT.md" --source "make bench-smoke"

# Benchmarks (issue 6), not a test; writes bench/REPORT.md. About 10 minutes on 2 cores plus the
# first builds (bench/ workspace with svix, and the release build of the functions):
#   1. verification micro-benchmarks (criterion): our verifiers against a bare HMAC-SHA256 by
#      ring and svix's Webhook::verify (bench/benches/verify.rs, about 5 minutes);
#   2. warm handler overhead without I/O, in process, ours (bench/benches/pipeline.rs) and the
#      peer's with its AWS calls stubbed out (bench/peer/overhead.py);
#   3. release zips of the four functions (cargo lambda build --release --output-format zip,
#      x86_64; `--compiler cargo` builds for the host's own target without zig) and the peer's
#      package size (bench/startup/sizes.py);
#   4. cold/warm start harness, the zipped release bootstrap against the Python peer,
#      BENCH_RUNS cold starts and BENCH_WARM warm events each (bench/startup/harness.py);
#   5. worst-case memory of one request at each receiver's body cap, the release bootstraps
#      (bench/memory.py; a figure over 64 MiB is reported as a missed target, the run goes on);
#   6. bench/report.py: all of it, with ratios, the targets and the cost model, in REPORT.md.
# bench/ is its own workspace (root Cargo.toml `exclude`), so `make test` never builds it.
BENCH_RUNS ?= 3
BENCH_WARM ?= 200

.PHONY: bench
bench: tools-moto tools-cargo-lambda tools-peer
	cd bench && cargo bench --bench verify
	cd bench && cargo bench --bench pipeline
	cd bench && cargo bench --bench events
	cd bench && cargo bench --bench emf
	$(PEER_VENV)/bin/python bench/peer/overhead.py --out bench/target/peer_overhead.json
	packages=$$(python3 scripts/registry.py binaries | sed 's/^/-p /') && \
	$(CARGO_LAMBDA) lambda build --compiler cargo --release --output-format zip $$packages
	python3 bench/startup/sizes.py --lambda-dir $(TARGET_DIR)/lambda --peer-venv $(PEER_VENV) --out bench/target/sizes.json
	rm -rf bench/target/startup && mkdir -p bench/target/startup
	bin=$$($(MOTO_VENV)/bin/python bench/startup/harness.py --print-binary) && \
	python3 -m zipfile -e "$(TARGET_DIR)/lambda/$$bin/bootstrap.zip" bench/target/startup/ && \
	chmod +x bench/target/startup/bootstrap && \
	$(MOTO_VENV)/bin/python bench/startup/harness.py --runs $(BENCH_RUNS) --warm $(BENCH_WARM) \
	  --rust-bin bench/target/startup/bootstrap --rust-label "$$bin, the release bootstrap.zip" \
	  --peer-python $(PEER_VENV)/bin/python --out bench/target/startup.json
	rm -rf bench/target/memory && \
	for bin in $$(python3 scripts/registry.py binaries); do \
	  mkdir -p "bench/target/memory/$$bin" && \
	  python3 -m zipfile -e "$(TARGET_DIR)/lambda/$$bin/bootstrap.zip" "bench/target/memory/$$bin/" && \
	  chmod +x "bench/target/memory/$$bin/bootstrap" || exit 1; \
	done
	-$(MOTO_VENV)/bin/python bench/memory.py --bin-dir bench/target/memory --label "release bootstrap.zip" \
	  --out bench/target/memory.json
	python3 bench/report.py
