# The README's commands. Each sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .tools/checkov/bin/checkov
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_DEFAULT_REGION ?= us-east-1
# The runtime package lives in lambdas/ (as in Lambda); every target sees it as pytest does.
export PYTHONPATH := $(CURDIR):$(CURDIR)/lambdas

.PHONY: setup test lint ruff mypy pytest rehearse bench docs run-now synth clean

# setup, lint and test run their parts side by side: the two virtualenvs install at the same time,
# then ruff and mypy run alongside pytest (on a fresh clone mypy's first run reads all of
# aws-cdk-lib's types: about 100 s of one core). Output stays whole lines; any failure fails.
SIDE_BY_SIDE := --no-print-directory --jobs=3 --output-sync=line

setup:
	@$(MAKE) $(SIDE_BY_SIDE) $(VENV)/.installed $(CHECKOV)

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

# checkov pins its own versions of shared libraries, so it lives in a venv of its own.
$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

test:
	@$(MAKE) $(SIDE_BY_SIDE) ruff mypy pytest

lint:
	@$(MAKE) $(SIDE_BY_SIDE) ruff mypy

ruff: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

mypy: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed $(CHECKOV)
	$(VENV)/bin/pytest

rehearse: $(VENV)/.installed
	$(PY) -m rehearsal $(ARGS)

bench: $(VENV)/.installed
	$(PY) -m rehearsal.bench

run-now: $(VENV)/.installed
	$(PY) -m tools.run_now $(ARGS)

docs: $(VENV)/.installed
	$(PY) -m rehearsal.docs --write

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

synth: $(VENV)/.installed node_modules/.bin/cdk
	npx cdk synth $(ARGS)

# Everything .gitignore lists (tests/tools/test_makefile.py keeps the two in step).
clean:
	rm -rf $(VENV) .tools node_modules cdk.out build .pytest_cache .mypy_cache .ruff_cache \
		.hypothesis .coverage .coverage.* coverage.xml htmlcov
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
