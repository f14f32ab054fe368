# HelpDesk Accounts - the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_EC2_METADATA_DISABLED := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run reset test lint typecheck unit bench clean system-deps
.PHONY: package fuzz fuzz-http soak axe

## axe: axe-core (the browser tests inject its axe.min.js), with npm into node_modules/
AXE := node_modules/axe-core/axe.min.js
$(AXE):
	npm install --no-save --no-audit --no-fund --ignore-scripts axe-core@4.10.3
axe: $(AXE)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip<26.3'

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## system-deps: Debian's Chromium (browser tests; Playwright never downloads a browser) and
## poppler-utils (pdftotext), installed with apt-get only when missing
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null 2>&1; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends chromium poppler-utils; \
	fi

## run: the API and console on http://127.0.0.1:$${PORT:-8000} over the embedded local stack;
## the data is kept in $${DEVSTACK_DATA_DIR:-.devstack/} between runs
run: $(STAMP) system-deps
	$(BIN)/python -m devstack

## reset: make run, starting with empty data (the demo accounts only)
reset: $(STAMP) system-deps
	$(BIN)/python -m devstack --reset

## test: lint, type-check and every test (the embedded servers are started by the tests), in
## one process per core: a test module runs whole in one of them, each has its own stack
test: $(STAMP) system-deps $(AXE) lint typecheck
	$(BIN)/python -m pytest -n auto --dist loadfile

## unit: the unit tests only (services over in-memory fakes, no server started), < 30 s
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## package: build/$(STAGE)/sam.json (SAM/CloudFormation: the app, table, queues, secret, alarms)
## and its deployment.zip, for STAGE=dev (default) or prod; cfn-lint checks the template;
## infra/slim_package.py precompiles the zip and drops what Lambda never loads
STAGE ?= dev
package: $(STAMP)
	rm -rf build/$(STAGE)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/python -m infra.build_resources --stage $(STAGE)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package --stage $(STAGE) \
		--merge-template build/resources-$(STAGE).json build/$(STAGE)
	$(BIN)/python -m infra.slim_package build/$(STAGE)/deployment.zip
	$(BIN)/cfn-lint build/$(STAGE)/sam.json

## fuzz: the /openapi.json fuzz suite with many more examples per route (FUZZ_MAX_EXAMPLES)
fuzz: $(STAMP)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-500} $(BIN)/python -m pytest tests/fuzz -q

## fuzz-http: the same over HTTP against `python -m devstack` (started on free ports; or
## FUZZ_HTTP_URL=http://127.0.0.1:8000 for a running `make run`), with the check that a
## schema-valid request is refused only by a business rule (the test's BUSINESS_RULES)
fuzz-http: $(STAMP)
	$(BIN)/python -m pytest tests/fuzz/test_openapi_over_http.py -m fuzz_http -q

## soak: the money lifecycle's model-based test with thousands of examples (Hypothesis
## profile "soak"; `make test` runs the "money" profile, a hundred-odd examples)
soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(BIN)/python -m pytest tests/unit/test_money_model.py -q -p no:logging

## bench: print the benchmark figures (bench/local_stack.py, ~8 min, is run on its own)
bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/requests.py
	$(BIN)/python bench/dunning.py
	$(BIN)/python bench/mail_latency.py
	$(BIN)/python bench/load.py --seconds 15

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
