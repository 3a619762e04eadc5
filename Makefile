# The two set-up commands of the README are `make run` and `make test`; both install what they
# need on demand (.venv for Python, node_modules for the Mini Program tooling and preview).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
NODE_STAMP := node_modules/.installed
# PostgreSQL half of the integration suite; CI starts the server (see .ci/run).
export MPPAY_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test lint fmt typecheck contracts pytest jstest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The bench extra (bench/peer/: Flask, gunicorn, wechatpayv3), for `make bench` and the smoke
# test in `make pytest`.
$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# `make run RUN_ARGS='--port 8001 --emulator-port 8091'` when 8000/8090 are taken.
run: $(STAMP) $(NODE_STAMP)
	$(BIN)/mppay serve --sandbox $(RUN_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) $(BENCH_STAMP) $(NODE_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

jstest: $(NODE_STAMP) $(STAMP)
	npm test --silent

test: lint typecheck contracts pytest jstest

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
