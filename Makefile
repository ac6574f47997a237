# The two commands: `make demo` and `make test`. Both build .venv from the lock file.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit env lock clean bench

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	# bytecode written once here: a process started with PYTHONDONTWRITEBYTECODE
	# (or from a read-only tree) would otherwise compile every module it imports
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

lock:
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

lint: env
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: env
	$(BIN)/mypy

unit: env
	$(BIN)/pytest -q

test: lint typecheck unit

demo: env
	$(BIN)/postloan demo

bench: env
	$(BIN)/python benchmarks/bench_schedule.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
