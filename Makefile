# The two commands of the README. Both do all their set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-fast install lint bench clean

## demo: create the environment, install, build the demo observatory and present it
demo: install
	$(BIN)/observatoire demo --home observatoire-demo

## test: install test needs (apt-get: PostgreSQL), start a throwaway PostgreSQL, run every test
test:
	bash scripts/test.sh

## test-fast: the developer's lane, under a minute: unit tests and doctests (no referential
## built, no PostgreSQL, no browser); `make test` stays the whole suite
test-fast: install
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q -m "not slow and not postgres and not browser"

install: $(BIN)/observatoire

$(BIN)/observatoire: pyproject.toml
	bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/bench_referential.py
	$(BIN)/python benchmarks/bench_imports.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_secret.py
	$(BIN)/python benchmarks/bench_france.py
	$(BIN)/python benchmarks/bench_national.py
	$(BIN)/python benchmarks/bench_web.py
	$(BIN)/python benchmarks/bench_login.py
	$(BIN)/python benchmarks/bench_portrait.py
	$(BIN)/python benchmarks/bench_records.py
	$(BIN)/python benchmarks/bench_documents.py
	$(BIN)/python benchmarks/bench_hostile.py
	$(BIN)/python benchmarks/bench_projection.py
	$(BIN)/python benchmarks/bench_decks.py

clean:
	rm -rf $(VENV) observatoire-demo .pytest_cache .mypy_cache .ruff_cache
