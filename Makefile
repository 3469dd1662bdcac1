# Two commands do everything: `make run` (install, database, load real data, serve) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
THREADS ?= 4
# Request lines up to gunicorn's maximum, so that a URI over LEVELUP_MAX_URI_LENGTH (8,000) reaches
# Django and gets its JSON 414; past 8,190 gunicorn answers with its own plain-text error.
GUNICORN_LIMITS := --limit-request-line 8190
# GraphiQL's scripts and styles, served from here (levelup_api.core vendor_graphiql), not from a CDN.
GRAPHIQL := levelup_api/core/static/vendor/graphiql
# The explorer's browser libraries (MapLibre GL JS; axe-core for the browser tests only), installed by
# `npm ci` at the versions of explorer/vendor/package-lock.json and served from here, not from a CDN.
EXPLORER_VENDOR := explorer/static/explorer/vendor
NPM_MODULES := explorer/vendor/node_modules

.PHONY: run test install db redis migrate load serve lint bench bench-scale load-test clean-db help graphiql explorer-vendor chromium

help:
	@echo "make run   - install, prepare PostgreSQL+PostGIS, load the real data, serve on http://$(HOST):$(PORT)"
	@echo "make test  - install, prepare the database server, run the whole test suite"
	@echo "make bench - run every benchmark under bench/ and rewrite docs/benchmarks.md with the figures"

run: load graphiql explorer-vendor
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo "Serving on http://$(HOST):$(PORT)/api/v1/  (docs: /api/docs/, GraphQL: /graphql, admin: /admin/)"
	exec $(BIN)/gunicorn levelup_api.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --worker-class gthread $(GUNICORN_LIMITS) --access-logfile -

test: db lint explorer-vendor chromium
	$(BIN)/python -m pytest --ds=levelup_api.settings.test

install: $(VENV)/.installed

# clients/python/pyproject.toml: the Python client (installed editable by requirements-dev.txt) and its dependencies
$(VENV)/.installed: requirements.txt requirements-dev.txt clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

graphiql: $(GRAPHIQL)/.vendored

# From the npm registry with npm, at the versions and SRI hashes of the pinned graphene-django.
$(GRAPHIQL)/.vendored: requirements.txt | install
	$(BIN)/python manage.py vendor_graphiql
	touch $@

explorer-vendor: $(EXPLORER_VENDOR)/.vendored

# npm ci (no install scripts) into explorer/vendor/node_modules, then the files the pages load, with
# their licences, into the static folder (both gitignored). The tests read axe-core from node_modules.
$(EXPLORER_VENDOR)/.vendored: explorer/vendor/package.json explorer/vendor/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to vendor MapLibre GL JS and axe-core (apt-get install npm)" >&2; exit 1; }
	cd explorer/vendor && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(EXPLORER_VENDOR) && mkdir -p $(EXPLORER_VENDOR)/maplibre-gl
	cp $(NPM_MODULES)/maplibre-gl/dist/maplibre-gl-csp.js $(NPM_MODULES)/maplibre-gl/dist/maplibre-gl-csp-worker.js \
	   $(NPM_MODULES)/maplibre-gl/dist/maplibre-gl.css $(NPM_MODULES)/maplibre-gl/dist/LICENSE.txt $(EXPLORER_VENDOR)/maplibre-gl/
	test -s $(NPM_MODULES)/axe-core/axe.min.js && test -s $(NPM_MODULES)/axe-core/LICENSE
	touch $@

# Debian's Chromium for the browser tests (tests/explorer/), installed with apt-get when missing.
chromium:
	bash scripts/ensure_chromium.sh

db: install redis
	bash scripts/ensure_db.sh

# Quota counters live in Redis (REDIS_URL): installed and started like PostgreSQL when missing.
redis:
	bash scripts/ensure_redis.sh

migrate: db
	$(BIN)/python manage.py migrate --noinput -v1

# bulk_write: Parquet and gzipped CSV of every dataset's current release and the national snapshot
# (docs/bulk.md) into LEVELUP_BULK_DIR (default var/bulk); a file set whose data did not change is not
# written again.
load: migrate
	$(BIN)/python manage.py load_geographies
	$(BIN)/python manage.py load_indicators
	$(BIN)/python manage.py load_missions
	$(BIN)/python manage.py bulk_write

serve: graphiql explorer-vendor redis
	exec $(BIN)/gunicorn levelup_api.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --worker-class gthread $(GUNICORN_LIMITS) --access-logfile -

lint: install
	@echo "ruff:"
	$(BIN)/ruff check .
	@echo "import-linter (the app graph, contracts in pyproject.toml):"
	$(BIN)/lint-imports --no-cache

bench: load graphiql explorer-vendor chromium
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/run_all.py

load-test: load
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/load.py

bench-scale: migrate
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/run_all.py --only observations,aggregate,profiles_scale,load_scale
