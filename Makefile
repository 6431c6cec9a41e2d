# Everything a fresh machine needs, behind two commands:
#   make rehearse  set up, then verify the hello server as a deployment is, on loopback
#   make serve   set up, then run the hello server on port 1848
#   make test    set up (venv; as root the Docker engine, base image, HAProxy and Knot), run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BASE_IMAGE ?= hello-server-base:bookworm
PYTEST_ARGS ?= -n auto

.PHONY: rehearse serve test test-local test-docker lint type check venv system-setup docker-setup netlab-setup bench bench-loss clean

# What the tests need (pytest, its plugins, dnspython, testcontainers...); no pip upgrade.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# The distribution was called hello-server before it became pytest-tcpreach.
	$(BIN)/python -m pip uninstall --quiet --yes hello-server 2>/dev/null || true
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# ruff, mypy and tox on top, for lint, type and the tox environments.
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP)

# The main job, with nothing deployed: Fly.io's shared-IPv4 trap rehearsed on loopback
# (SCENARIO=dedicated, app-down or ipv6-only-listener for the others).
rehearse: $(STAMP)
	$(BIN)/python -m tcpreach rehearse $(SCENARIO)

serve: $(STAMP)
	$(BIN)/python -m server

# The container tests need an engine and a base image; set them up when we can (root),
# otherwise the docker tests say precisely why they skip (and fail under CI=true).
docker-setup:
	@if [ "$$(id -u)" -eq 0 ] || docker info >/dev/null 2>&1; then \
		docker/engine.sh start && docker/make-base-image.sh $(BASE_IMAGE); \
	else echo "make: not root and no engine answers: the docker tests will skip"; fi

# The edge tier needs HAProxy and Knot from Debian; as root they are installed (not started).
netlab-setup:
	@netlab/install.sh

# The system's part, one step after the other (both use apt): the edge tier's daemons, then
# the engine and the base image.
system-setup:
	@$(MAKE) --no-print-directory netlab-setup
	@$(MAKE) --no-print-directory docker-setup

# On a fresh machine the venv (PyPI) and the system's part (apt, debootstrap) are set up
# side by side, then the suite runs.
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=target venv system-setup
	HELLO_BASE_IMAGE=$(BASE_IMAGE) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-local: $(STAMP)
	$(BIN)/python -m pytest -m local $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

type: $(DEV_STAMP)
	$(BIN)/mypy

check: lint type test

bench: $(DEV_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

# A working deployment behind 20% loss each way and 200 ms: how often is it ok? (root)
bench-loss: $(STAMP) netlab-setup
	$(BIN)/python -m bench.loss

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .tox build dist *.egg-info
