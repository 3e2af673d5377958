# The README's commands: `make lab` (set up and open the series) and `make test` (set up and run every test).
# Both need only Python and the package index (and Debian's Chromium for the browser tests); nothing here runs
# npm except `make vendor`, a maintainer's step whose output is committed.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt
# What a student needs (requirements.txt), then the maintainer's tools on top (requirements-dev.txt).
LAB_STAMP := $(VENV)/.installed-lab
STAMP := $(VENV)/.installed
# pip on this kind of machine warns about every local index folder it skips; keep the log readable
QUIET_PIP := { grep -v "is ignored: it is neither a file nor a directory" || true; }
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
ARTIFACTS ?= $(CURDIR)/test-artifacts

.PHONY: help venv lab test unit lint nbval browser notebooks imgs bench site series lock vendor clean

help:
	@echo "make lab        set up .venv with the notebooks' requirements and open the series in JupyterLab"
	@echo "make test       set up .venv and run every test (lint, unit, nbval over notebooks, site + browser)"
	@echo "make lint       ruff check and ruff format --check (configured in pyproject.toml)"
	@echo "make notebooks  re-execute the notebooks headless, in place (seeded: text outputs are stable)"
	@echo "make imgs       redraw the pictures in imgs/ from the package"
	@echo "make site       build the static site into site/_build/html (offline)"
	@echo "make series     rewrite README.md's series table from site/series.csv and the notebooks' headings"
	@echo "make bench      run the benchmarks and print the ratios against their targets"
	@echo "make lock       re-pin constraints.txt from a fresh venv (maintainers; then re-run make test)"
	@echo "make vendor     refresh the site's committed JavaScript in site/_static/vendor/ (maintainers; needs npm)"

$(LAB_STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt 2>&1 | $(QUIET_PIP)
	$(PIP) --no-deps -e . 2>&1 | $(QUIET_PIP)
	touch $@

$(STAMP): $(LAB_STAMP) requirements-dev.txt
	$(PIP) -r requirements-dev.txt 2>&1 | $(QUIET_PIP)
	touch $@

venv: $(STAMP)

# JupyterLab refuses to run as root without --allow-root (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(LAB_STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

test: lint unit nbval browser

lint: $(STAMP)
	status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	exit $$status

unit: $(STAMP)
	$(PY) -m pytest -q -m "not browser" tests

nbval: $(STAMP)
	$(PY) -m pytest -q --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly $(NOTEBOOKS)

browser: $(STAMP) site
	@echo "browser-test screenshots: $(ARTIFACTS)"
	ARTIFACTS=$(ARTIFACTS) $(PY) -m pytest -q -m browser tests
	@echo "browser-test screenshots: $(ARTIFACTS)"

notebooks: $(STAMP)
	$(PY) scripts/run_notebooks.py $(NOTEBOOKS)

imgs: $(STAMP)
	$(PY) scripts/make_imgs.py

# Every benchmark runs; the target fails if any missed its target.
bench: $(STAMP)
	status=0; \
	for bench in benchmarks/bench_*.py; do $(PY) $$bench || status=1; done; \
	exit $$status

site: $(STAMP)
	$(PY) scripts/build_site.py

series:
	$(PYTHON) scripts/series.py

# constraints.txt: every package of a fresh install of requirements-dev.txt, at the version it got. Both
# `make lab` and `make test` install with it, so a clone next year gets the versions the outputs were made with.
LOCK_VENV := $(CURDIR)/.lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q -r requirements-dev.txt 2>&1 | $(QUIET_PIP)
	{ echo "# Pinned by \`make lock\` from a fresh install of requirements-dev.txt (Python $$($(LOCK_VENV)/bin/python -c 'import platform; print(platform.python_version())'), $$(uname -m) Linux)."; \
	  echo "# A constraints file: it pins versions and installs nothing by itself; packages of other platforms stay free."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; \
	} > constraints.txt
	rm -rf $(LOCK_VENV)
	@echo "constraints.txt re-pinned; run make test, and commit it if the tests pass"

vendor:
	$(PYTHON) scripts/vendor_site_assets.py

clean:
	rm -rf site/_build test-artifacts
