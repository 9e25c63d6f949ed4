# Redline: the front door. `make` (or `make help`) lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ENV ?= local

# Extra steps of `make test` and the benchmarks of `make bench`, added by the fragments in mk/.
TEST_EXTRAS :=
BENCHES :=

.PHONY: help setup test test-long unit integration lint format clean bench

help: ## List every target with one line each
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=''; off=''; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-14s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)
	@echo ""
	@echo "  Variables: ENV=$(ENV) (terraform/environments/<ENV>.tfvars.json), PYTHON=$(PYTHON)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "error: Redline needs Python 3.11 or newer as '$(PYTHON)' (found: $$($(PYTHON) --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 2; }
	@echo "==> creating $(VENV) and installing Redline with its dev dependencies"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP) ## Create the virtualenv and install everything (done automatically by other targets)

test: $(STAMP) ## Run every test: unit, integration (local stack on free ports) and the extra checks
	$(PY) -m pytest
	@for step in $(TEST_EXTRAS); do $(MAKE) --no-print-directory $$step; done

test-long: $(STAMP) ## The minutes-long scenario tests make test leaves out (whole searches); part of make bench
	$(PY) -m pytest -m long

unit: $(STAMP) ## Run the unit tests only (network blocked)
	$(PY) -m pytest tests/unit

integration: $(STAMP) ## Run the integration tests only (local stack over real HTTP)
	$(PY) -m pytest tests/integration

lint: $(STAMP) ## ruff check and ruff format --check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP) ## The long scenario tests, then speed as ratios measured in one run (bench/)
	@$(MAKE) --no-print-directory test-long
	@for b in $(BENCHES); do echo "==> bench/$$b"; $(PY) -m bench.$$b; done

clean: ## Remove the virtualenv, caches, build output and local state (keeps results/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis dist build *.egg-info .redline
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

-include mk/*.mk
