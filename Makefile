# Two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: test demo bench install chromium clean

install: $(STAMP) chromium

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(BENCH_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Debian's Chromium (Playwright cannot download browsers here); installed only when missing and root.
chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "installing chromium (apt-get)"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	else echo "chromium is missing: run 'sudo apt-get install -y chromium'"; exit 1; fi

test: install
	$(VENV)/bin/pytest -q

demo: install
	$(VENV)/bin/ghostcheck demo --out demo-out

bench: $(BENCH_STAMP) chromium
	@echo "benchmarks: run e.g. $(PY) benchmarks/load.py (see benchmarks/RESULTS.md)"

clean:
	rm -rf $(VENV) demo-out .pytest_cache
