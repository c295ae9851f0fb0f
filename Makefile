# Set-up and everyday commands. `make run` and `make test` work on a fresh machine
# with Python 3.11: they create .venv and install what they need first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint servers clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

run: $(STAMP)  ## run the engine on embedded defaults (http://127.0.0.1:8000/docs)
	$(BIN)/streamrec serve

servers:  ## install the Redis and PostgreSQL binaries the integration tests start
	bash scripts/install-test-servers.sh

test: $(STAMP) servers  ## the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check streamrec tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) streamrec-data .pytest_cache .mypy_cache .ruff_cache
