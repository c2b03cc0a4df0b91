# The two commands: `make run` (the service, on a fresh machine with only Python) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench services chromium worker clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(STAMP)
	$(PY) -m worker.devstack

worker: $(STAMP)
	$(PY) -m worker

services:
	tests/ensure_services.sh

chromium:
	@command -v chromium >/dev/null 2>&1 || tests/install_chromium.sh

test: $(TEST_STAMP) services chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .

# Each benchmark prints one JSON line last. They rebuild the `bench` database (or TEST_DATABASE_URL).
bench: $(TEST_STAMP) services
	@for f in tests/perf/bench_*.py; do \
	  m=$$(basename $$f .py); echo "== $$m"; $(PY) -m tests.perf.$$m || exit 1; \
	done

clean:
	rm -rf $(VENV) instance/saas.db instance/redis.db
