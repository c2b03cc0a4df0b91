# The two commands: `make run` (the service, on a fresh machine with only Python) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
RUN_STAMP := $(VENV)/.installed-run

# What is installed comes from the lock files: exact versions, their hashes checked. `make lock`
# writes them from pyproject.toml with pip-tools (in a throwaway venv), keeping the versions they
# name while pyproject's ranges allow; `make lock LOCK_FLAGS=--upgrade` takes the newest.
# requirements.lock is the service; -test adds the `test` extra, -run the `run` extra (the
# embedded Redis of `make run`), both with the service's versions.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
RUN_LOCK := requirements-run.lock
LOCK_FLAGS ?=
PIP_COMPILE := pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-find-links --no-emit-index-url --no-emit-trusted-host $(LOCK_FLAGS)

.PHONY: run test lint bench services chromium worker clean translations lock

# Translations (saas/i18n.py): the catalogs are edited as .po files; the .mo files the app reads
# are compiled from them by every target that runs the app.
BABEL := $(VENV)/bin/pybabel
CATALOGS := saas/translations
MO := $(patsubst %.po,%.mo,$(wildcard $(CATALOGS)/*/LC_MESSAGES/messages.po))

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install --require-hashes -r $(LOCK)
	$(PY) -m pip install --no-deps -e .
	touch $@

$(TEST_STAMP): $(STAMP) $(TEST_LOCK)
	$(PY) -m pip install --require-hashes -r $(TEST_LOCK)
	touch $@

$(RUN_STAMP): $(STAMP) $(RUN_LOCK)
	$(PY) -m pip install --require-hashes -r $(RUN_LOCK)
	touch $@

lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && set -e && \
	  $(PYTHON) -m venv "$$tmp" && "$$tmp/bin/pip" install --quiet 'pip-tools>=7.7,<8' && \
	  export CUSTOM_COMPILE_COMMAND='make lock' && \
	  echo "== $(LOCK)" && "$$tmp/bin/"$(PIP_COMPILE) -o $(LOCK) pyproject.toml && \
	  echo "== $(TEST_LOCK)" && \
	  "$$tmp/bin/"$(PIP_COMPILE) --extra test -c $(LOCK) -o $(TEST_LOCK) pyproject.toml && \
	  echo "== $(RUN_LOCK)" && \
	  "$$tmp/bin/"$(PIP_COMPILE) --extra run -c $(LOCK) -o $(RUN_LOCK) pyproject.toml

%.mo: %.po $(STAMP)
	$(BABEL) compile -i $< -o $@

# Extract every message from the code and templates, update each language's catalog (new
# messages arrive empty; make test fails until they are translated), compile.
translations: $(STAMP)
	$(BABEL) extract -F babel.cfg -k _l -k _nl:1,2 -k _pl:1c,2 --no-location --sort-output \
	  --project saas -o $(CATALOGS)/messages.pot .
	$(BABEL) update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching \
	  --ignore-obsolete --width 100
	$(BABEL) compile -d $(CATALOGS)

run: $(RUN_STAMP) $(MO)
	$(PY) -m worker.devstack

worker: $(STAMP) $(MO)
	$(PY) -m worker

services:
	tests/ensure_services.sh

chromium:
	@command -v chromium >/dev/null 2>&1 || tests/install_chromium.sh

test: $(TEST_STAMP) $(MO) services chromium
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .

# Each benchmark prints one JSON line last. They rebuild the `bench` database (or TEST_DATABASE_URL).
bench: $(TEST_STAMP) $(MO) services
	@for f in tests/perf/bench_*.py; do \
	  m=$$(basename $$f .py); echo "== $$m"; $(PY) -m tests.perf.$$m || exit 1; \
	done

clean:
	rm -rf $(VENV) instance/saas.db instance/redis.db
