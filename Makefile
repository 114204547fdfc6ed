# Two entry points: `make demo` (the main job on the embedded local model when
# no API key is set) and `make test` (lint, types, coverage, unit and integration
# tests). Both install the project into .venv first; the install is skipped while
# the stamp file is newer than pyproject.toml and this Makefile.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vs-installed.stamp
PACKAGES := vs_common langchain_vs llamaindex_vs

# The embedded model server, llama-cpp-python, has no Linux wheels on PyPI: pip
# compiles llama.cpp, by default for the build machine's own CPU (GGML_NATIVE=ON),
# and such a build crashes on other CPUs (AMX: ggml-org/llama.cpp issue 20824).
# We build it once, portably (GGML_NATIVE=OFF: the x86-64-v3 / armv8-a baseline
# whatever CPU builds it; LLAVA_BUILD=OFF: no multimodal library, which we do not
# use), into a project-local wheelhouse, and install only that wheel. pip caches
# built wheels by version, not by CMAKE_ARGS, so the build runs with
# --no-cache-dir and the install with --only-binary: a native wheel in pip's cache
# is never reused.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
PYTAG := $(shell $(PYTHON) -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEELHOUSE := .wheelhouse/llama-cpp-python-$(LLAMA_CPP_VERSION)-portable-$(PYTAG)
LLAMA_WHEEL := $(WHEELHOUSE)/.built

.PHONY: install test lint format typecheck unit integration demo bench clean parser-snapshot mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"

$(LLAMA_WHEEL): | $(BIN)/python
	@echo "Building llama-cpp-python $(LLAMA_CPP_VERSION) portably ($(LLAMA_CMAKE_ARGS)); the first time takes about 6 minutes on 2 cores."
	rm -rf $(WHEELHOUSE)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(BIN)/python -m pip wheel --quiet \
		--no-cache-dir --no-deps --no-binary llama-cpp-python \
		--wheel-dir $(WHEELHOUSE) "llama-cpp-python==$(LLAMA_CPP_VERSION)"
	echo "$(LLAMA_CMAKE_ARGS)" > $@

# pip >= 25.1 understands --group (PEP 735 dependency groups). The last line
# replaces a llama-cpp-python that an older install put into this venv.
$(STAMP): pyproject.toml Makefile $(LLAMA_WHEEL) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --find-links $(WHEELHOUSE) --only-binary llama-cpp-python \
		-e ".[all]" --group dev "llama-cpp-python==$(LLAMA_CPP_VERSION)"
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall $(WHEELHOUSE)/llama_cpp_python-*.whl
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

# Line and branch coverage of the three packages; fails under the level in pyproject.toml.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/pytest --cov --cov-report=term

demo: install
	$(BIN)/vs generate "Write a joke about coffee"

# Every benchmark, one after another; one summary table and benchmarks/results/latest.json.
bench: install
	$(BIN)/python benchmarks/run_all.py

# What the parser reads on 2,080 replies, pinned in tests/data/parser_snapshot.jsonl
# (tests/unit/core/test_parser_snapshot.py). Run it to accept a reviewed change.
parser-snapshot: install
	$(BIN)/python tests/unit/core/parser_snapshot.py

# Mutation testing of vs_common/parsing/ with mutmut, outside `make test` (about an
# hour on 2 cores). The survivors, and why each is equivalent: docs/mutation-survivors.md.
# One module at a time: make mutation MUTANTS="vs_common.parsing._tags*"
mutation: install
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
