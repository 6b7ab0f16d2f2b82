# Trooper: `make run` serves the chat page and the proxy; `make test` runs the whole suite.
# Both set up everything they need on a fresh machine (a virtualenv in .venv, the embedded model).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llama-cpp-python builds from source; GGML_NATIVE=OFF avoids "Illegal instruction" on CPUs that
# lack the build machine's extensions (see docs/local-models.md).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
PYTEST_ARGS ?=

.PHONY: run test setup browser bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[local,notebook,test]"
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; exit 1; fi; }

run: setup
	$(BIN)/trooper serve

test: setup browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/overhead.py

# The full-length soak (CI runs a 45 s form): faults at random under load; figures in docs/reliability.md.
SOAK_SECONDS ?= 300
soak: setup
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m pytest -s -p no:cacheprovider tests/reliability/test_soak.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
