# `make run` and `make test` do all the set-up on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PORT ?= 8000
TEST_WORKERS ?= 2
HOST ?= 127.0.0.1

.PHONY: install run test lint audit lock format bench clean vendor-explorer

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## run: venv, install, migrate, demo data (embedded SQLite), serve on PORT
run: install
	$(VENV)/bin/conflict-events db upgrade
	$(VENV)/bin/conflict-events serve --host $(HOST) --port $(PORT)

## test: the whole suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set), on TEST_WORKERS
## processes (a file runs whole on one; TEST_WORKERS=0 runs it in this process)
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app tests .ci/audit_dependencies.py
	$(VENV)/bin/hadolint Dockerfile

## audit: the installed dependencies against PyPI's advisories (.ci/audit_dependencies.py)
audit: install
	$(PY) .ci/audit_dependencies.py

## lock: requirements.lock from the venv's runtime dependencies (after changing pyproject.toml)
lock: install
	$(PY) .ci/audit_dependencies.py --write-lock

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: the dashboard benchmark (service vs Datasette vs raw SQL) into benchmarks/README.md;
## BENCH_ARGS="--events 100000 --backend sqlite" for a quicker run (see benchmarks/run.py)
bench: install
	@test -f $(VENV)/.bench-installed || ($(PY) -m pip install --quiet -e '.[bench]' && touch $(VENV)/.bench-installed)
	$(PY) benchmarks/run.py all $(BENCH_ARGS)

## vendor-explorer: re-vendor the explorer's libraries from npm at their pinned versions
vendor-explorer:
	app/explorer/vendor.sh

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
