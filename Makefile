# Set-up and everyday commands. `make run` and `make test` work on a fresh machine
# with Python 3.11: they create .venv and install what they need first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint docs servers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

run: $(STAMP)  ## run the engine on embedded defaults (http://127.0.0.1:8000/docs)
	$(BIN)/streamrec serve

servers:  ## install the Redis and PostgreSQL binaries the integration tests start
	bash scripts/install-test-servers.sh

# The suite's line coverage may not drop below this (percent, in-process code only;
# measured at 92.7% when it was set).
COVERAGE_FLOOR := 92

test: $(STAMP) servers lint  ## lint, types, then the whole test suite with coverage
	$(BIN)/python -m pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

lint: $(STAMP) docs  ## ruff (lint and format), mypy and the docs site's strict build
	$(BIN)/python -m ruff check streamrec tests
	$(BIN)/python -m ruff format --check streamrec tests
	$(BIN)/python -m mypy

docs: $(STAMP)  ## build the documentation site into site/ (mkdocs-material, --strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) streamrec-data site test-artifacts .pytest_cache .mypy_cache .ruff_cache
