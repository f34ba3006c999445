# sparsebook: build the book and run the tests on a CPU machine.
# `make help` lists the targets. Everything runs in .venv, which the first
# target that needs it creates from requirements.txt (GPU users: environment.yml).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.stamp

# Notebooks of the chapters (jupyter-book's executed copies under _build excluded).
NOTEBOOKS = $(shell find book -name '*.ipynb' -not -path '*/_build/*' -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)

.PHONY: help venv data book test check layout mutants clean

help:  ## list the targets
	@echo "sparsebook targets:"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

# The stamp is newer than both install inputs once an install has succeeded,
# so a second `make` installs nothing.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(STAMP)  ## create .venv and install requirements.txt and the library (once)

data: $(STAMP)  ## prepare the offline data sets (sparsebook.data.prepare_offline)
	$(PY) -c "from sparsebook.data import prepare_offline; print(prepare_offline())"

book: data  ## execute the chapters and build the HTML book into book/_build/html/
	$(VENV)/bin/jupyter-book build --all book/  # every page: a page whose notebook did not change may read new results
	@echo "book: $(CURDIR)/book/_build/html/index.html"

# 1. the library's tests; 2. every chapter notebook at the smoke profile, writing
# into a throw-away results folder (never the committed results/).
test: data  ## run ruff, pytest on tests/, then the chapter notebooks with nbval (smoke profile)
	$(VENV)/bin/ruff check lib tests bench tools
	$(PY) -m pytest tests/ --ignore=tests/book/test_book_render.py  # the browser test needs the built book: make check
ifeq ($(strip $(NOTEBOOKS)),)
	@echo "nbval: no chapter notebooks under book/ yet, nothing to run"
else
	results=$$(mktemp -d); trap 'rm -rf "$$results"' EXIT; \
	SPARSEBOOK_PROFILE=smoke SPARSEBOOK_RESULTS="$$results" \
	$(PY) -m pytest --nbval-lax --nbval-current-env --ignore=book/_build book/
endif

check:  ## check the built book: no traceback, NaN, broken link, code name or draft phrase in prose; math, figures and verdict tables in Chromium
	$(PY) tools/check_book.py book/_build/html
	$(PY) -m pytest -q tests/book/test_book_render.py
	$(PY) tools/check_layout.py book/_build/html

layout:  ## after make book: the tables clipped at 1280 and 390 px in Chromium (fails on any; part of check)
	$(PY) tools/check_layout.py book/_build/html

mutants: data  ## mutation testing of the decision and method code (mutmut; outside make test): tests/mutants/REPORT.md
	$(PY) -m pip install --disable-pip-version-check -q 'mutmut==3.8.1'
	OMP_NUM_THREADS=1 $(PY) tools/mutants.py $(MUTANTS)  # MUTANTS=--again: after new tests, rerun only what survived

clean:  ## remove the built book (book/_build); .venv, data and results/ stay
	rm -rf book/_build
