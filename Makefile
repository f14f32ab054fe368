# HelpDesk Accounts - the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_EC2_METADATA_DISABLED := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'pip<26.3'

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## run: the API and console on http://127.0.0.1:$${PORT:-8000} over the embedded local stack
run: $(STAMP)
	$(BIN)/python -m devstack

## test: lint, type-check and every test (the embedded servers are started by the tests)
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: print the benchmark figures
bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/requests.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
