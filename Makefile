# Descent Lab: `make run` starts the app, `make test` runs every check. GNU make.
# The virtual environment lives in .venv and is made with `python3` from PATH; requirements are
# re-installed only when requirements*.txt change (stamp files inside .venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help run test lint bench clean venv dev assets assets-strict kernels

help:
	@echo "make run    - install requirements.txt into .venv and start the app (http://localhost:8501)"
	@echo "make test   - install requirements-dev.txt, then ruff and every pytest test (browser tests need /usr/bin/chromium)"
	@echo "make lint   - ruff only"
	@echo "make bench  - run bench/bench_*.py"
	@echo "make clean  - remove .venv and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.req-stamp: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev-stamp: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.req-stamp

venv: $(VENV)/.req-stamp
dev: $(VENV)/.dev-stamp

# plotly's partial bundles (pinned version and sha512, see ui/assets.py) from the npm registry into
# static/, where the app serves them. `make run` carries on without them (the player then loads the full
# plotly.min.js, slower); `make test` insists, so the browser tests measure what visitors get.
assets: $(VENV)/.req-stamp
	$(BIN)/python -m ui.assets
# For the tests: the partial bundles must be there, and axe-core (tests/test_a11y.py) too.
assets-strict: $(VENV)/.req-stamp
	$(BIN)/python -m ui.assets --strict --axe

# The optimizer kernels, compiled into numba's disk cache (~/.cache/descent-lab, or DESCENT_LAB_KERNEL_DIR):
# about 3 minutes on 2 cores the first time, seconds after that, so no visitor or test waits for LLVM.
kernels: $(VENV)/.req-stamp
	$(BIN)/python -m optimizers --warm

# Dev defaults: listen on localhost only and reload on code changes, unless STREAMLIT_SERVER_ADDRESS /
# STREAMLIT_SERVER_FILE_WATCHER_TYPE say otherwise. The port (8501) and every other option come from
# .streamlit/config.toml (the production settings) and Streamlit's own STREAMLIT_* variables. Started as
# the image starts it (python -m loadtest.serve): warmed up at once, "ready after ... s" in the log.
run: assets kernels
	STREAMLIT_SERVER_FILE_WATCHER_TYPE="$${STREAMLIT_SERVER_FILE_WATCHER_TYPE:-auto}" \
	  exec $(BIN)/python -m loadtest.serve --server.address "$${STREAMLIT_SERVER_ADDRESS:-localhost}"

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check .

# pytest runs on up to 4 worker processes (pytest-xdist), a test file per worker at a time: each worker has
# its own app server and browser. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST_ARGS ?= -n $(PYTEST_WORKERS) --dist loadfile --durations=25

# Both steps always run, so one report shows everything; either failing fails the target. pytest's exit
# code 5 (no test collected) counts as a failure.
test: $(VENV)/.dev-stamp assets-strict kernels
	@lint=0; echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || lint=$$?; \
	echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"; rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	[ $$lint -eq 0 ] || echo "FAILED: ruff check (exit $$lint)"; \
	[ $$rc -ne 5 ] || echo "FAILED: pytest collected no tests (exit 5)"; \
	[ $$rc -eq 0 ] || [ $$rc -eq 5 ] || echo "FAILED: pytest (exit $$rc)"; \
	[ $$lint -eq 0 ] && [ $$rc -eq 0 ]

bench: $(VENV)/.dev-stamp assets kernels
	@set -e; found=0; \
	for f in bench/bench_*.py; do \
	  [ -e "$$f" ] || continue; found=1; \
	  echo "== $$f"; $(BIN)/python "$$f"; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks in bench/ yet"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis static/plotly*.js
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
