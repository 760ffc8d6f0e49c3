# CarePortal: `make run` and `make test` are the whole Quick start.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/careportal
# Settings used only to prove that production settings pass `check --deploy`.
DEPLOY_ENV := DEBUG=false SECRET_KEY=check-deploy-only-$$(date +%s)-aVeryLongRandomishValueForTheCheck0123456789 \
	ALLOWED_HOSTS=portal.example.org SITE_URL=https://portal.example.org

.PHONY: venv run worker test lint check pytest pytest-sqlite pytest-postgres clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Starting the worker (email outbox and background tasks) and the web server on http://127.0.0.1:$(PORT)"
	$(BIN)/python manage.py run_worker & WORKER=$$!; \
	trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

worker: venv
	$(BIN)/python manage.py run_worker

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: venv
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

pytest-sqlite: venv
	@echo "== pytest on SQLite"
	env -u DATABASE_URL $(BIN)/python -m pytest -p no:cacheprovider -q

pytest-postgres: venv
	@if $(BIN)/python -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== pytest on PostgreSQL ($(PG_URL))"; \
		DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -p no:cacheprovider -q; \
	else \
		echo "!! PostgreSQL was NOT tested: no server answers at 127.0.0.1:5432 (user postgres)."; \
	fi

test: lint check pytest-sqlite pytest-postgres

clean:
	rm -rf $(VENV) data/*.sqlite3
