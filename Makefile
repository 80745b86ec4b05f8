# `make run` starts the appliance, `make test` runs the tests, `make bench` prints the figures.
# Each target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint models

$(BIN)/repcounter: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/repcounter
	$(BIN)/repcounter serve

test: $(BIN)/repcounter
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(BIN)/repcounter
	$(BIN)/repcounter bench

lint: $(BIN)/repcounter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
