# One command per task. Each installs what it needs (uv, the locked dependencies, a local Redis).
SHELL := /bin/bash
PY := .venv/bin/python
UV := $(shell command -v uv 2>/dev/null || echo .venv-uv/bin/uv)
REDIS_URL ?= redis://localhost:6379/0
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install demo run test check bench redis clean
help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# uv from PATH, else a private copy in .venv-uv (on Debian, python3 -m venv needs python3-venv:
# installed when missing and we are root, else one line says so)
.venv/.installed: pyproject.toml uv.lock
	@[ -x "$(UV)" ] || command -v "$(UV)" >/dev/null 2>&1 || { \
	  python3 -m venv .venv-uv 2>/dev/null || { \
	    rm -rf .venv-uv; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv \
	        && python3 -m venv .venv-uv; \
	    else echo "make: python3 -m venv failed; install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }; \
	  .venv-uv/bin/pip install -q uv; }
	$(UV) sync --frozen --quiet
	@touch $@

install: .venv/.installed  ## create .venv from the lock file

redis: install  ## make sure Redis answers at REDIS_URL (starts one on loopback if needed)
	@$(PY) -m workers.cli.localredis $(REDIS_URL)

demo: install redis  ## the main job end to end: sandbox, web app, worker, a burst of webhooks
	@.venv/bin/awork-billing demo

run: install redis  ## web app on :8000 + worker (+ the awork sandbox on :8081 without AWORK_API_URL)
	@.venv/bin/awork-billing run

test: install  ## the test suite (real Redis, real arq workers, the sandbox as awork)
	@$(PY) -m workers.cli.localredis $${TEST_REDIS_URL:-redis://127.0.0.1:6379/9}
	$(PY) -m pytest

check: install  ## ruff format --check, ruff check, mypy --strict, the import contracts
	.venv/bin/ruff format --check service workers tests
	.venv/bin/ruff check service workers tests
	.venv/bin/mypy --strict service workers tests
	.venv/bin/lint-imports

bench: install redis  ## benchmarks (figures and ratios, not tests)
	$(PY) -m tests.bench

clean:  ## remove the environment and local Redis data
	rm -rf .venv .venv-uv var .mypy_cache .ruff_cache .pytest_cache
