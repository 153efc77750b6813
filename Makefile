# agent-deployer: `make run` starts the local stack and shows a push reaching active;
# `make test` runs lint, types and the whole test suite. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint infra-check bench setup clean browser

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The project itself (.venv/bin/agent-deployer); its dependencies are pinned above.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	$(PY) -m localdev.run

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy deployer localdev function_app.py
	# The CLI's import path on the oldest and newest Python it supports (pyproject requires-python).
	$(VENV)/bin/mypy --python-version 3.10 -p deployer.cli -p deployer.domain -p deployer.config
	$(VENV)/bin/mypy --python-version 3.13 -p deployer.cli -p deployer.domain -p deployer.config
	$(VENV)/bin/lint-imports

test: lint infra-check browser
	# Three workers on two cores: most of a test's time is spent waiting on a stand-in or a timer.
	# --dist loadfile keeps a module's tests (and its module-scoped stack) on one worker.
	$(VENV)/bin/pytest -q -n 3 --dist loadfile

# Headless Chromium and its driver for tests/browser (Debian's packages; needs root, once).
browser:
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

bench: setup
	$(PY) -m bench

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache

infra-check:
	bash infra/check.sh
