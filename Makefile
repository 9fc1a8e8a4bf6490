# The README's commands. Each sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .tools/checkov/bin/checkov
# uv installs the virtualenvs (about 10 s where pip takes minutes); pip installs only uv itself.
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export AWS_DEFAULT_REGION ?= us-east-1
# The runtime package lives in lambdas/ (as in Lambda); every target sees it as pytest does.
export PYTHONPATH := $(CURDIR):$(CURDIR)/lambdas
# uv writes no bytecode at install; let the first import write it, so that every later process
# (each test worker, each `cdk synth`) does not compile aws-cdk-lib again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup test lint ruff mypy pytest coverage rehearse bench docs run-now synth clean

# setup, lint and test run their parts side by side: the two virtualenvs install at the same time,
# then ruff and mypy run alongside pytest (on a fresh clone mypy's first run takes about 15 s: it
# reads only the aws-cdk-lib modules the code imports, see pyproject.toml). Output stays whole
# lines; any failure fails.
SIDE_BY_SIDE := --no-print-directory --jobs=3 --output-sync=line

setup:
	@$(MAKE) $(SIDE_BY_SIDE) $(VENV)/.installed $(CHECKOV)

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(PY) -r requirements-dev.txt -c constraints.txt
	touch $@

# checkov pins its own versions of shared libraries, so it lives in a venv of its own.
$(CHECKOV): requirements-checkov.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) .tools/checkov
	$(UV) pip install --quiet --python .tools/checkov/bin/python -r requirements-checkov.txt
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

# The suite with line and branch coverage of the Lambda code (about twice as long).
coverage: $(VENV)/.installed $(CHECKOV)
	$(VENV)/bin/pytest --cov=lambdas/image_updater --cov-report=term:skip-covered

rehearse: $(VENV)/.installed
	$(PY) -m rehearsal $(ARGS)

bench: $(VENV)/.installed
	$(PY) -m rehearsal.bench

run-now: $(VENV)/.installed
	$(PY) -m tools.run_now $(ARGS)

# The generated sections of README.md and docs/, then the site, offline, into site/: --strict
# fails on any warning (a broken link or anchor, a page the nav does not reach: mkdocs.yml).
# ARGS=--without-year leaves the simulated year's report as it is (it takes seconds to run).
docs: $(VENV)/.installed
	$(PY) -m rehearsal.docs --write $(ARGS)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

synth: $(VENV)/.installed node_modules/.bin/cdk
	npx cdk synth $(ARGS)

# Everything .gitignore lists (tests/tools/test_makefile.py keeps the two in step).
clean:
	rm -rf $(VENV) .tools node_modules cdk.out build site .pytest_cache .mypy_cache .ruff_cache \
		.hypothesis .coverage .coverage.* coverage.xml htmlcov
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.pyc' \) -prune -exec rm -rf {} +
