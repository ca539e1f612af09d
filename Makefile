# One command per task. Each installs what it needs: the Debian packages this machine lacks (as
# root; anyone else gets one line naming them all), the pinned uv, the locked dependencies (kubectl
# for tests/deploy among them) and a local Redis.
SHELL := /bin/bash
# VENV=.venv-x keeps a second environment beside .venv; UV_PYTHON=/usr/bin/python3 picks its
# Python (default: the first python3 on PATH). .ci/run uses both. uv never downloads a Python.
VENV ?= .venv
PY := $(VENV)/bin/python
UV := .venv-uv/bin/uv
REDIS_URL ?= redis://localhost:6379/0
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help packages install demo run test check bench redis clean
help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Debian packages this machine lacks, checked and named all at once. python3-venv: Debian keeps
# ensurepip out of python3, and the bootstrap of uv needs `python3 -m venv`. redis-server: the test
# suite starts servers of its own; demo and run need one only when nothing listens at REDIS_URL.
# As root: one apt-get call, its output in var/apt-get.log (dpkg ignores -qq).
NEED_REDIS :=
demo run bench redis: NEED_REDIS = $(REDIS_URL)
test: NEED_REDIS = always
# wrk: the ingest benchmark's load generator (pinned to a core); installed along as root, else
# the benchmark falls back to a Python generator and says so.
WANT_WRK :=
bench: WANT_WRK = 1
listens = python3 -c 'import socket, sys, urllib.parse as p; u = p.urlsplit(sys.argv[1]); socket.create_connection((u.hostname or "localhost", u.port or 6379), 1).close()' "$(1)" 2>/dev/null
packages:  ## the Debian packages the other commands need: installed as root, else named in one line
	@missing=; \
	command -v python3 >/dev/null || missing+=" python3"; \
	[ -x $(UV) ] || python3 -c 'import ensurepip' 2>/dev/null || missing+=" python3-venv"; \
	need_redis="$(NEED_REDIS)"; \
	case "$$need_redis" in ''|always) ;; *) $(call listens,$$need_redis) && need_redis=;; esac; \
	[ -z "$$need_redis" ] || command -v redis-server >/dev/null || missing+=" redis-server"; \
	if [ -n "$(WANT_WRK)" ] && ! command -v wrk >/dev/null && [ "$$(id -u)" = 0 ]; then missing+=" wrk"; fi; \
	[ -n "$$missing" ] || exit 0; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "make: missing Debian packages:$$missing; run as root: apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "make: installing Debian packages:$$missing (first run only; output in var/apt-get.log)"; \
	mkdir -p var; \
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; } \
	  >var/apt-get.log 2>&1 || { tail -n 5 var/apt-get.log; echo "make: apt-get install$$missing failed"; exit 1; }

# uv in a venv of its own, at the version and with the hashes uv.lock holds (uv is a dev
# dependency, so `uv lock --upgrade-package uv` moves the bootstrap too).
uv_requirement = import tomllib; uv = next(p for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "uv"); print("uv==" + uv["version"], *("--hash=" + w["hash"] for w in uv["wheels"]))
$(UV): uv.lock | packages
	@[ -x .venv-uv/bin/pip ] || python3 -m venv .venv-uv
	@python3 -c '$(uv_requirement)' >.venv-uv/requirements.txt
	@.venv-uv/bin/pip install --quiet --disable-pip-version-check --require-hashes --only-binary :all: -r .venv-uv/requirements.txt
	@touch $@

$(VENV)/.installed: pyproject.toml uv.lock $(UV)
	@echo "make: installing the locked dependencies into $(VENV)"
	@$(UV) sync --frozen --quiet
	@touch $@

install: packages $(VENV)/.installed  ## create .venv from the lock file

redis: install  ## make sure Redis answers at REDIS_URL (starts one on loopback if needed)
	@$(PY) -m workers.cli.localredis $(REDIS_URL)

demo: install redis  ## the main job end to end: sandbox, web app, worker, a burst of webhooks
	@$(VENV)/bin/awork-billing demo

run: install redis  ## web app on :8000 + worker (+ the awork sandbox on :8081 without AWORK_API_URL)
	@$(VENV)/bin/awork-billing run

# Two test processes (pytest-xdist): most tests wait on processes they started, so two share two
# cores well (4.5 min instead of 12 on 2 cores). The fault tests stay in one of them, in turn.
TEST_PROCESSES ?= 2
test: install  ## the test suite (real Redis, real arq workers, the sandbox as awork)
	@$(PY) -m workers.cli.localredis $${TEST_REDIS_URL:-redis://127.0.0.1:6379/9}
	$(PY) -m pytest -n $(TEST_PROCESSES)

check: install  ## ruff format --check, ruff check, mypy --strict, the import contracts
	$(VENV)/bin/ruff format --check service workers tests
	$(VENV)/bin/ruff check service workers tests
	$(VENV)/bin/mypy --strict service workers tests
	$(VENV)/bin/lint-imports

bench: install redis  ## benchmarks (figures and ratios, not tests)
	$(PY) -m tests.bench

clean:  ## remove the environments and local Redis data
	rm -rf .venv .venv-* var .mypy_cache .ruff_cache .pytest_cache
