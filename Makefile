# assay: two commands on a fresh machine with Python 3.11 and make.
#   make demo   sets up .venv, installs assay, runs the demo on bundled real data
#   make test   sets up .venv with the test extras, runs every test
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# The CPU build of torch lies on disk here; an unpinned torch would pull a CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test lint bench clean help

help:
	@echo "make demo   build ./assay-demo from scikit-learn's digits and write its report"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff and mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

# The text extra (sentence embeddings) needs torch: pin the CPU build first.
$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet $(TORCH_PIN)
	$(PIP) install --quiet -e '.[test,bench,text]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/assay demo

test: export HF_HUB_OFFLINE = 1
test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) assay-demo .pytest_cache .mypy_cache .ruff_cache
