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

.PHONY: run test install db redis migrate load serve lint bench bench-scale load-test clean-db help graphiql

help:
	@echo "make run   - install, prepare PostgreSQL+PostGIS, load the real data, serve on http://$(HOST):$(PORT)"
	@echo "make test  - install, prepare the database server, run the whole test suite"
	@echo "make bench - run every benchmark under bench/ and rewrite docs/benchmarks.md with the figures"

run: load graphiql
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo "Serving on http://$(HOST):$(PORT)/api/v1/  (docs: /api/docs/, GraphQL: /graphql, admin: /admin/)"
	exec $(BIN)/gunicorn levelup_api.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --worker-class gthread $(GUNICORN_LIMITS) --access-logfile -

test: db lint
	$(BIN)/python -m pytest --ds=levelup_api.settings.test

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

graphiql: $(GRAPHIQL)/.vendored

# From the npm registry with npm, at the versions and SRI hashes of the pinned graphene-django.
$(GRAPHIQL)/.vendored: requirements.txt | install
	$(BIN)/python manage.py vendor_graphiql
	touch $@

db: install redis
	bash scripts/ensure_db.sh

# Quota counters live in Redis (REDIS_URL): installed and started like PostgreSQL when missing.
redis:
	bash scripts/ensure_redis.sh

migrate: db
	$(BIN)/python manage.py migrate --noinput -v1

load: migrate
	$(BIN)/python manage.py load_geographies
	$(BIN)/python manage.py load_indicators
	$(BIN)/python manage.py load_missions

serve: graphiql redis
	exec $(BIN)/gunicorn levelup_api.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --worker-class gthread $(GUNICORN_LIMITS) --access-logfile -

lint: install
	@echo "ruff:"
	$(BIN)/ruff check .
	@echo "import-linter (the app graph, contracts in pyproject.toml):"
	$(BIN)/lint-imports --no-cache

bench: load
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/run_all.py

load-test: load
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/load.py

bench-scale: migrate
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/run_all.py --only observations,aggregate,profiles_scale,load_scale
