# smslink — every target a developer runs is the same one CI runs.
# `make help` lists them. Targets bootstrap their own .venv from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PY     := $(BIN)/python
SMSLINK := $(BIN)/smslink

.DEFAULT_GOAL := help
.PHONY: help install fmt lint test e2e golden-update bench bench-compile bench-worker \
        bench-worker-curve bench-routing bench-bots bench-publish schema bench-report bench-webhooks validate compile review demo \
        tools clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): pyproject.toml setup.py engine/worker/_fast.c engine/snapshot/_index.c engine/snapshot/_index.h engine/analytics/_scan.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install smslink with its dev tools

tools: ## system tools the tests and benchmarks use (headless Chromium, wrk, a C compiler); needs apt as root
	@PYTHON=$(PYTHON) bash scripts/ensure-tools.sh

fmt: $(STAMP) ## format the code
	$(BIN)/ruff format engine tests benchmarks scripts
	$(BIN)/ruff check --fix engine tests benchmarks scripts

lint: $(STAMP) ## ruff, mypy, import contracts, actionlint
	$(BIN)/ruff check engine tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/mypy engine
	@bash scripts/actionlint.sh

test: tools $(STAMP) ## run every test (unit, golden, compat, e2e); tools first: the venv build compiles _fast.c, _index.c and _scan.c
	$(BIN)/pytest -q -p no:cacheprovider

e2e: tools $(STAMP) ## only the end-to-end tests (real granian, real HTTP, real Chromium)
	$(BIN)/pytest -q -m e2e

golden-update: $(STAMP) ## rewrite golden files; review their diff before committing
	$(BIN)/pytest -q tests/golden --snapshot-update

schema: $(STAMP) ## regenerate smslink.schema.json and docs/cli.md (tests check both are current)
	$(SMSLINK) schema --out smslink.schema.json
	$(PY) scripts/gen_cli_docs.py

validate: $(STAMP) ## validate campaigns/ and policies/
	$(SMSLINK) validate

compile: $(STAMP) ## compile the example campaigns against a generated audience into build/
	$(PY) scripts/demo.py compile-only

review: $(STAMP) ## review the work tree against main (BASE=ref to override)
	$(SMSLINK) review $${BASE:-main}

demo: $(STAMP) ## the whole story end to end on embedded defaults
	$(PY) scripts/demo.py

bench: bench-compile bench-worker bench-routing bench-bots bench-report bench-webhooks bench-publish ## every benchmark

bench-compile: $(STAMP) ## compile a 2,000,000-recipient audience: wall time, peak RSS, bytes/recipient
	$(PY) benchmarks/bench_compile.py

bench-worker: $(STAMP) tools ## bare granian vs smslink serve (and full routing) under wrk on loopback
	$(PY) benchmarks/bench_worker.py

bench-bots: $(STAMP) ## cost of the bot classifier per request
	$(PY) benchmarks/bench_bots.py

bench-worker-curve: $(STAMP) tools ## bench-worker, then p99 against load (50-90% of saturation) for bare granian and smslink
	$(PY) benchmarks/bench_worker.py --curve 0.5,0.6,0.7,0.8,0.9

bench-report: $(STAMP) ## 10,000,000 click lines over 2,000,000 tokens through smslink report
	$(PY) benchmarks/bench_report.py

bench-routing: $(STAMP) ## click-time routing: nearest store, resolve default-only vs full, trace
	$(PY) benchmarks/bench_routing.py

bench-click: $(STAMP) ## instructions per click of the worker's Python path (callgrind; stable on a noisy machine)
	$(PY) benchmarks/bench_click_instructions.py

bench-publish: $(STAMP) ## publish + token-continuity check of a 2,000,000-recipient snapshot
	$(PY) benchmarks/bench_publish.py

bench-webhooks: $(STAMP) ## deliver 100,000 signed events to a local receiver
	$(PY) benchmarks/bench_webhooks.py

clean: ## remove build output (not .venv)
	rm -rf build demo bench-out .pytest_cache
