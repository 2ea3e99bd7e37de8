# Relief: `make run` serves the demo on SQLite; `make test` runs the whole suite on MariaDB + Redis.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/relief start

test: $(VENV)/.test-installed
	./scripts/ensure-services.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	PYTHONPATH=.:apps $(BIN)/mypy
	$(BIN)/pytest -q
	RELIEF_TEST_DB_URL=sqlite $(BIN)/pytest -q -m smoke

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	PYTHONPATH=.:apps $(BIN)/mypy

bench: $(VENV)/.test-installed
	$(BIN)/pip install -q -e '.[bench]'
	./scripts/ensure-services.sh
	for b in bench/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
