# The two commands a newcomer needs: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FERRY_TOOLS_DIR := $(CURDIR)/.tools

.PHONY: setup demo test lint bench clean

$(BIN)/ferry: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

setup: $(BIN)/ferry  ## create .venv with ferry and its dev tools

demo: setup  ## a short tour of ferry against a local S3 server (no AWS account needed)
	$(BIN)/python scripts/demo.py

test: setup  ## the whole test suite (starts and stops its own local S3 servers)
	$(BIN)/python -m pytest

lint: setup  ## ruff and mypy (strict) on src/
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

bench: setup  ## benchmarks beside the peer tools (not part of `make test`)
	$(BIN)/python bench/storage.py

clean:
	rm -rf $(VENV) .tools bench/.work .pytest_cache .mypy_cache .ruff_cache
