# The README's commands: `make lab` (set up and open the series) and `make test` (set up and run every test).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pip on this kind of machine warns about every local index folder it skips; keep the log readable
QUIET_PIP := { grep -v "is ignored: it is neither a file nor a directory" || true; }
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
ARTIFACTS ?= $(CURDIR)/test-artifacts

.PHONY: help venv lab test unit nbval browser notebooks imgs bench site clean

help:
	@echo "make lab        set up .venv and open the series in JupyterLab"
	@echo "make test       set up .venv and run every test (unit, nbval over notebooks, site + browser)"
	@echo "make notebooks  re-execute the notebooks headless, in place (seeded: text outputs are stable)"
	@echo "make imgs       redraw the pictures in imgs/ from the package"
	@echo "make site       build the static site into site/_build/html (offline)"
	@echo "make bench      run the benchmarks and print the ratios against their targets"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt 2>&1 | $(QUIET_PIP)
	$(PY) -m pip install -q --no-deps -e . 2>&1 | $(QUIET_PIP)
	touch $(STAMP)

venv: $(STAMP)

# JupyterLab refuses to run as root without --allow-root (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

test: unit nbval browser

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

bench: $(STAMP)
	$(PY) benchmarks/bench_forward.py
	$(PY) benchmarks/bench_explorer.py

site: $(STAMP)
	$(PY) scripts/build_site.py

clean:
	rm -rf site/_build site/_static/vendor test-artifacts
