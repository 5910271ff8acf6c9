# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-unit test-integration lint messages clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

## Set up and serve the site on embedded defaults (SQLite, eager Celery, console e-mail/SMS).
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo
	@echo "Serving on http://127.0.0.1:8000  (stop with Ctrl+C)"
	$(PY) manage.py runserver 127.0.0.1:8000

## Set up and run the whole suite: unit + browser tier on SQLite, then the integration
## tier on PostgreSQL + Redis + a Celery worker (skipped when absent, except with CI=true).
test: $(STAMP)
	$(PY) -m pytest -m "not integration"
	$(PY) tests/integration/run.py

test-unit: $(STAMP)
	$(PY) -m pytest -m "not integration and not browser"

test-integration: $(STAMP)
	$(PY) tests/integration/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## Refresh and compile the English catalogue (Japanese is the source language).
messages: $(STAMP)
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=staticfiles --ignore=artifacts
	$(PY) manage.py compilemessages -l en --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles artifacts .pytest_cache
