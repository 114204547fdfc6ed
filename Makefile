# Two entry points: `make demo` (the main job on the embedded local model when
# no API key is set) and `make test` (lint, types, unit and integration tests).
# Both install the project into .venv first; the install is skipped while the
# stamp file is newer than pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vs-installed.stamp
PACKAGES := vs_common langchain_vs llamaindex_vs

.PHONY: install test lint format typecheck unit integration demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip >= 25.1 understands --group (PEP 735 dependency groups).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[all,local,metrics,report]" --group dev
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy $(PACKAGES)

unit: install
	$(BIN)/pytest -m "not integration"

integration: install
	$(BIN)/pytest -m integration

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/pytest

demo: install
	$(BIN)/vs generate "Write a joke about coffee"

# Every benchmark, one after another; one summary table and benchmarks/results/latest.json.
bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
