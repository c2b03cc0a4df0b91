# The two commands: `make run` (the service, on a fresh machine with only Python) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench services chromium worker clean translations

# Translations (saas/i18n.py): the catalogs are edited as .po files; the .mo files the app reads
# are compiled from them by every target that runs the app.
BABEL := $(VENV)/bin/pybabel
CATALOGS := saas/translations
MO := $(patsubst %.po,%.mo,$(wildcard $(CATALOGS)/*/LC_MESSAGES/messages.po))

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -e '.[test]'
	touch $@

%.mo: %.po $(STAMP)
	$(BABEL) compile -i $< -o $@

# Extract every message from the code and templates, update each language's catalog (new
# messages arrive empty; make test fails until they are translated), compile.
translations: $(STAMP)
	$(BABEL) extract -F babel.cfg -k _l -k _nl:1,2 -k _pl:1c,2 --no-location --sort-output \
	  --project saas -o $(CATALOGS)/messages.pot .
	$(BABEL) update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching \
	  --omit-header --ignore-obsolete
	$(BABEL) compile -d $(CATALOGS)

run: $(STAMP) $(MO)
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
