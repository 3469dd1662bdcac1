# Two commands do everything: `make run` (install, database, load real data, serve) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
THREADS ?= 4

.PHONY: run test install db migrate load serve lint bench bench-scale load-test clean-db help

help:
	@echo "make run   - install, prepare PostgreSQL+PostGIS, load the real data, serve on http://$(HOST):$(PORT)"
	@echo "make test  - install, prepare the database server, run the whole test suite"
	@echo "make bench - run every benchmark under bench/ and rewrite docs/benchmarks.md with the figures"

run: load
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo "Serving on http://$(HOST):$(PORT)/api/v1/  (docs: /api/docs/, GraphQL: /graphql, admin: /admin/)"
	exec $(BIN)/gunicorn levelup_api.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --worker-class gthread --access-logfile -

test: db lint
	$(BIN)/python -m pytest --ds=levelup_api.settings.test

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

db: install
	bash scripts/ensure_db.sh

migrate: db
	$(BIN)/python manage.py migrate --noinput -v1
	$(BIN)/python manage.py createcachetable

load: migrate
	$(BIN)/python manage.py load_geographies
	$(BIN)/python manage.py load_indicators
	$(BIN)/python manage.py load_missions

serve:
	exec $(BIN)/gunicorn levelup_api.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --threads $(THREADS) --worker-class gthread --access-logfile -

lint: install
	@echo "ruff:"
	$(BIN)/ruff check .

bench: load
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/run_all.py

load-test: load
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/load.py

bench-scale: migrate
	$(BIN)/python -m pip install -q -r requirements-bench.txt
	$(BIN)/python bench/run_all.py --only observations,aggregate,profiles_scale,load_scale
