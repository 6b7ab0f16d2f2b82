# Trooper: `make run` serves the chat page and the proxy; `make test` runs the whole suite.
# Both set up everything they need on a fresh machine (a virtualenv in .venv, the embedded model).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs what running needs; `make test` adds the test tools (pytest, Playwright, JupyterLab...).
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
RUN_EXTRAS := local,notebook,postgres
# llama-cpp-python builds from source; GGML_NATIVE=OFF avoids "Illegal instruction" on CPUs that
# lack the build machine's extensions (see docs/local-models.md).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PYTEST_ARGS ?=

.PHONY: run test setup doctor browser postgres nginx bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing Trooper and its embedded demo model. The first time, llama-cpp-python compiles from"
	@echo "source (several minutes on two cores; CMAKE_ARGS=$(CMAKE_ARGS) so it runs on any x86-64 CPU)."
	$(BIN)/pip install -e ".[$(RUN_EXTRAS)]"
	touch $@

$(TEST_STAMP): $(RUN_STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[$(RUN_EXTRAS),test]"
	touch $@

setup: $(RUN_STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; exit 1; fi; }

# Debian's PostgreSQL: the store tests run every one of them against a real server too (tests/postgres.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	  else echo "install Debian's postgresql (sudo apt-get install postgresql) for the store tests"; exit 1; fi; }

# Debian's nginx: the balancer the deployment recipe (docs/deploy.md) puts in front of replicas.
nginx:
	@{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; \
	  else echo "install Debian's nginx (sudo apt-get install nginx-light) for the balancer tests"; exit 1; fi; }

run: $(RUN_STAMP)
	$(BIN)/trooper serve

# What Trooper finds on this machine: local tiers, keys set (never shown), the store, the port.
doctor: $(RUN_STAMP)
	$(BIN)/trooper doctor

# The type checker first (settings in pyproject.toml: strict on the seams), then the suite.
test: $(TEST_STAMP) browser postgres nginx
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python bench/overhead.py

# The full-length soak (CI runs a 45 s form): faults at random under load; figures in docs/reliability.md.
SOAK_SECONDS ?= 300
soak: $(TEST_STAMP)
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m pytest -s -p no:cacheprovider tests/reliability/test_soak.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
