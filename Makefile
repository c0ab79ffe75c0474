# One command each: `make demo` installs and runs the demo; `make test`
# installs and runs every check (lint, types, layering, tests). `.ci/run` calls
# `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test check lint types layers pytest schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/onboarding demo

test: $(STAMP) lint types layers pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types:
	$(BIN)/mypy

layers:
	$(BIN)/lint-imports

pytest:
	$(BIN)/pytest -q

schema: $(STAMP)
	$(BIN)/onboarding schema > blueprints/blueprint.schema.json

bench: $(STAMP)
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/email_bench.py
	$(BIN)/python bench/launch_bench.py
	$(BIN)/python bench/sweep_bench.py
	$(BIN)/python bench/reforecast_bench.py
	$(BIN)/python bench/report_bench.py
	$(BIN)/python bench/flow_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
