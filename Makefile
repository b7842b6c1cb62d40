# sitefinder batch interface: every target calls the CLI (or the test/bench tools).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SF     := $(VENV)/bin/sitefinder

REGIONS ?= $(basename $(notdir $(wildcard data/regions/*.toml)))

.PHONY: setup test test-fast lint map refresh bench figures clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed  ## create .venv and install sitefinder with its dev tools

# Two pytest-xdist workers (the machines have 2 cores); every file, and every group of files
# sharing an expensive session fixture, stays on one worker (tests/conftest.py). The suite
# also passes without: PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
PYTEST_PAR := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)

test: setup  ## run the test suite (tests, doctests of sitefinder/ and docs/api.md, browser tests) on 2 workers
	$(PY) -m pytest $(PYTEST_PAR)

test-fast: setup  ## the test suite without the tests marked slow
	$(PY) -m pytest $(PYTEST_PAR) -m "not slow"

lint: setup  ## ruff, ruff format and mypy
	$(VENV)/bin/ruff check sitefinder tests bench docs/figures
	$(VENV)/bin/ruff format --check sitefinder tests bench docs/figures
	$(VENV)/bin/mypy

map: setup  ## generate the sample town if absent and run the full pipeline on it -> maps/sample/
	$(SF) refresh sample
	@echo "Kaart: $(CURDIR)/maps/sample/map.html"

refresh: $(addprefix refresh-,$(REGIONS))  ## rebuild regions whose inputs changed (REGIONS="almere sample"; -j2 runs them in parallel)

refresh-%: setup
	$(SF) refresh $*

bench: setup  ## run the benchmarks in bench/ (ratios against baselines in the same run)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

figures: setup  ## draw the value-function figures of docs/scoring.md -> docs/figures/*.png
	$(PY) docs/figures/make_figures.py

clean:  ## remove caches and generated outputs (not your inputs)
	rm -rf data/cache layers/* maps/* .pytest_cache .mypy_cache .ruff_cache
