# One command each: `make demo` installs and runs the demo; `make test`
# installs and runs every check (lint, types, layering, tests). `.ci/run` calls
# `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# axe-core for the browser tests' accessibility checks, pinned in tests/package-lock.json
AXE     = tests/node_modules/.installed

.PHONY: demo test check lint types layers pytest schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/onboarding demo

test: $(STAMP) $(AXE) lint types layers pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy

layers:
	$(BIN)/lint-imports

pytest: $(AXE)
	$(BIN)/pytest -q

# Without npm the accessibility checks skip (and fail under CI=true, where npm must be there).
$(AXE): tests/package.json tests/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests --no-audit --no-fund --loglevel=error && touch $(AXE); \
	else \
		echo "npm not found: the browser tests' accessibility checks will skip (fail under CI=true)"; \
	fi

schema: $(STAMP)
	$(BIN)/onboarding schema > blueprints/blueprint.schema.json

bench: $(STAMP)
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/email_bench.py
	$(BIN)/python bench/delivery_bench.py
	$(BIN)/python bench/smtp_bench.py
	$(BIN)/python bench/launch_bench.py
	$(BIN)/python bench/sweep_bench.py
	$(BIN)/python bench/whole_sweep_bench.py --deliver-at-most 20000
	$(BIN)/python bench/reforecast_bench.py
	$(BIN)/python bench/report_bench.py
	$(BIN)/python bench/flow_bench.py
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/web_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/node_modules
