# CarePortal: `make run` and `make test` are the whole Quick start.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/careportal
# pytest-xdist: one process per core. The browser journeys and the fault tests start servers
# of their own on free ports, and each process gets its own test database.
PYTEST_WORKERS ?= auto
# Settings used only to prove that production settings pass `check --deploy`.
DEPLOY_ENV := DEBUG=false SECRET_KEY=check-deploy-only-$$(date +%s)-aVeryLongRandomishValueForTheCheck0123456789 \
	ALLOWED_HOSTS=portal.example.org SITE_URL=https://portal.example.org

.PHONY: venv run worker test lint typecheck check pytest pytest-sqlite pytest-postgres clean browser screenshots gettext messages quickstart bench

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Development is turned on explicitly: without DEBUG=true the settings start closed (production).
# Links in emails follow the port unless SITE_URL says otherwise. The settings create the
# SQLite file's folder and MEDIA_ROOT, wherever DATABASE_URL and MEDIA_ROOT point.
run worker screenshots: export DEBUG ?= true
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo
	@echo "Starting the worker (email outbox and background tasks) and the web server on http://127.0.0.1:$(PORT)"
	@$(BIN)/python manage.py run_worker & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

worker: venv
	$(BIN)/python manage.py run_worker

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy, strict, with Django's stubs (settings in pyproject.toml; a few modules not yet clean
# are listed there and only ever leave the list).
typecheck: venv
	DEBUG=true $(BIN)/mypy

check: venv
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

pytest-sqlite: venv browser gettext
	@echo "== pytest on SQLite"
	env -u DATABASE_URL $(BIN)/python -m pytest -p no:cacheprovider -q -n $(PYTEST_WORKERS)

pytest-postgres: venv gettext
	@if $(BIN)/python -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== pytest on PostgreSQL ($(PG_URL))"; \
		DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -p no:cacheprovider -q -n $(PYTEST_WORKERS) \
			-m "not browser and not faults"; \
	else \
		echo "!! PostgreSQL was NOT tested: no server answers at 127.0.0.1:5432 (user postgres)."; \
	fi

# Real-browser tests (tests/journeys) drive Debian's chromium through Playwright for Python;
# never `playwright install`, which downloads a browser build of its own.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "== browser: $$(chromium --version 2>/dev/null || echo chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "== browser: installing Debian's chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "!! Chromium is missing: the browser tests need Debian's chromium on the PATH."; \
		echo "!! Install it as root with: apt-get update && apt-get install -y chromium"; \
		exit 1; \
	fi

# The translation test runs makemessages, which needs GNU gettext's xgettext and msgmerge.
gettext:
	@if command -v xgettext >/dev/null 2>&1 && command -v msgmerge >/dev/null 2>&1; then \
		echo "== gettext: $$(xgettext --version | head -n 1)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "== gettext: installing Debian's gettext (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	else \
		echo "!! GNU gettext is missing: the translation test needs xgettext and msgmerge."; \
		echo "!! Install it as root with: apt-get update && apt-get install -y gettext"; \
		exit 1; \
	fi

# Gather the strings to translate into locale/es/LC_MESSAGES/django.po, then compile the .mo
# (commit both: the .mo lets a machine without gettext show Spanish).
messages: export DEBUG ?= true
messages: venv gettext
	$(BIN)/python manage.py makemessages -l es --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=docs --ignore=data
	$(BIN)/python manage.py compilemessages -l es --ignore=.venv

# PNGs of the main pages at desktop and phone widths, from the demo data, under docs/screenshots/.
screenshots: venv browser
	$(BIN)/python -m tests.journeys.screenshots docs/screenshots

# The README's first command, as a new user types it: a brand-new clone of the committed HEAD,
# `make run` with no environment but a free PORT, until the sign-in page answers.
quickstart:
	bash .ci/quickstart

test: lint typecheck check browser gettext pytest-sqlite pytest-postgres quickstart

clean:
	rm -rf $(VENV) data/*.sqlite3

# The benchmark (docs/benchmarks.md, docs/benchmarks.svg, bench/results.json): PostgreSQL at
# 127.0.0.1:5432, in a database of its own (BENCH_DATABASE_URL, careportal_bench by default),
# built the first time and reused while the schema is unchanged; wrk from Debian drives the
# throughput run. BENCH_ROUNDS, BENCH_BUDGET_SECONDS and BENCH_LOAD_SECONDS tune it.
bench: venv
	@if command -v wrk >/dev/null 2>&1; then \
		echo "== wrk: $$(command -v wrk)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "== wrk: installing Debian's wrk (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	else \
		echo "!! wrk is missing: the throughput run needs it."; \
		echo "!! Install it as root with: apt-get update && apt-get install -y wrk"; \
		exit 1; \
	fi
	$(BIN)/python -m bench --check-server
	$(BIN)/python -m bench
