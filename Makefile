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

.PHONY: setup test lint rehearse bench docs run-now synth clean

setup: $(VENV)/.installed $(CHECKOV)

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

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
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

clean:
	rm -rf $(VENV) .tools node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
