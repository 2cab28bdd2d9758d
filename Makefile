# The two commands: `make run` (demo on http://127.0.0.1:8000) and `make test` (everything CI runs).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3.11
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
REDIS_HOST ?= 127.0.0.1
REDIS_PORT ?= 6379
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test test-fast install services chromium lint mypy pytest bench bench-smoke clean

# Python keeps its bytecode, and pytest its assertion-rewritten test modules, in __pycache__ (git
# ignores it) even where the environment sets PYTHONDONTWRITEBYTECODE, as this machine's does:
# without them each pytest worker compiled and rewrote the 144 test modules again at every run,
# about 8 s of CPU per worker before the first test (collection: 12 s of CPU on a first run, 4.5 s
# once cached). Python checks each cached file against its source, so an edit is never missed.
unexport PYTHONDONTWRITEBYTECODE

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt requirements-vonage-signer.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is needed."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	# twilio without its declared dependencies: see requirements-nodeps.txt. Not byte-compiled
	# (--no-compile): the tests import two of its ~1,500 modules, and compiling them all took most
	# of this step (113 s of a fresh install under load, 27 s without).
	$(VENV)/bin/pip install --quiet --no-deps --no-compile -r requirements-nodeps.txt
	# Vonage's SDKs need PyPI requests: kept off the app's path, see requirements-vonage-signer.txt.
	$(VENV)/bin/pip install --quiet --upgrade --target $(VENV)/vonage-signer -r requirements-vonage-signer.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Serving on http://127.0.0.1:8000 (sign in with a demo user above)"
	$(PY) manage.py runserver 127.0.0.1:8000

# PostgreSQL and Redis must answer; start the local services when installed but stopped.
services:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then \
	    echo "Starting PostgreSQL..."; \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
	    for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	  fi; \
	fi
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 and is not installed here: install postgresql or set DATABASE_URL."; exit 1; }
	@if ! (exec 3<>/dev/tcp/$(REDIS_HOST)/$(REDIS_PORT)) 2>/dev/null; then \
	  if command -v redis-server >/dev/null; then \
	    echo "Starting Redis..."; \
	    mkdir -p /var/lib/redis /var/log/redis; \
	    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port $(REDIS_PORT) --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log; \
	    for i in $$(seq 1 30); do (exec 3<>/dev/tcp/$(REDIS_HOST)/$(REDIS_PORT)) 2>/dev/null && break; sleep 1; done; \
	  fi; \
	fi
	@(exec 3<>/dev/tcp/$(REDIS_HOST)/$(REDIS_PORT)) 2>/dev/null || { echo "Redis is not reachable on $(REDIS_HOST):$(REDIS_PORT) and is not installed here: install redis-server."; exit 1; }
	@echo "PostgreSQL and Redis are reachable."

# Browser tests drive Debian's Chromium (Playwright's own download does not work here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@[ -x $(CHROMIUM) ] || { echo "Chromium is missing at $(CHROMIUM)."; exit 1; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The three apps type-checked with django-stubs (configured in pyproject.toml).
mypy: install
	$(VENV)/bin/mypy

pytest: install services chromium
	$(VENV)/bin/pytest -n 2 --dist worksteal --create-db $(ARGS)

test: install services chromium lint pytest bench-smoke

# The suite without the tests marked slow (browser journeys, transactional tests, demo seeds, the
# hostile-input walk, subprocess start-ups: see the `slow` marker in pyproject.toml and
# tests/conftest.py), on the kept test databases. A quick check while working; `make test` runs all.
test-fast: install services
	$(VENV)/bin/pytest -n 2 -m "not slow" $(ARGS)

bench: install services
	$(PY) bench/search_bench.py $(ARGS)

# Every bench in bench/ at its --smoke size (tiny data, its own scratch database, dropped after):
# a bench that breaks fails `make test`.
bench-smoke: install services
	$(PY) bench/smoke.py

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 private
