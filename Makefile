# quant-agent: every target bootstraps .venv itself (Python 3.11+ needed on PATH).
SHELL := /bin/bash
# The first interpreter on PATH that really runs and is 3.11+ (pyenv shims may not run).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { command -v $$p; break; }; \
	done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test soak bench dashboard lint clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "quant-agent needs Python 3.11 or newer on PATH (or PYTHON=/path/to/python3.11)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "quant-agent needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)  ## start a paper session on the embedded defaults
	$(BIN)/quant-agent run

test: $(STAMP)  ## the whole suite (PostgreSQL tests use QA_TEST_DATABASE_URL), on 2 workers
	$(BIN)/python -m pytest -n 2 --dist loadfile

soak: $(STAMP)  ## the reliability suite at full counts (docs/RELIABILITY.md); long
	QA_SOAK=1 $(BIN)/python -m pytest -n 2 --dist loadfile tests/reliability

bench: $(STAMP)  ## benchmarks: print timings, assert nothing
	@set -e; for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script; done

dashboard: $(STAMP)
	$(BIN)/quant-agent dashboard

lint: $(STAMP)  ## ruff, mypy and the dependency audit (tools/dep_audit.py; offline: SKIPPED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tools/dep_audit.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
