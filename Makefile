# Two commands set up a fresh machine (see README): `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=25.1"
	$(PY) -m pip install -q -e '.[postgres,amqp]' --group dev
	touch $(STAMP)

install: $(STAMP)

## Run the gateway on the embedded default (SQLite under var/), with the demo configuration.
run: $(STAMP)
	$(VENV)/bin/gateway demo

## Run the whole test suite (unit, peer and interop tests; interop tests skip outside CI when a server is absent).
test: $(STAMP)
	$(VENV)/bin/ruff check gateway adapters tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway adapters tests bench
	$(VENV)/bin/ruff format --check gateway adapters tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
