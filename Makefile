# `make repro` runs the pipeline; `make test-fast` the unit and stage tests (a couple of minutes), `make test`
# every test, `make lint` ruff and mypy. All set up .venv first: requirements.txt for the pipeline, and
# requirements-test.txt on top for the tests and tools; `make test` also installs the Debian packages the slow
# tests need (scripts/test-deps) and JAX (requirements-jax.txt). docs/tests.md says more.
PYTHON ?= python3.11
VENV := .venv
ACTIVATE := . $(VENV)/bin/activate

.PHONY: setup repro test test-fast lint
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

repro: setup
	$(ACTIVATE) && dvc repro

# pytest, selenium and the developer tools, pinned to agree with requirements.txt.
$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(VENV)/bin/pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

# The tests also train on JAX, Keras' second backend: requirements-jax.txt.
$(VENV)/.installed-jax: $(VENV)/.installed requirements-jax.txt
	$(VENV)/bin/pip install --quiet -r requirements-jax.txt
	touch $@

# Everything but the tests marked slow (tests/slow): no Debian packages, no JAX.
test-fast: $(VENV)/.installed-test
	$(ACTIVATE) && python -m pytest -m "not slow"

test: $(VENV)/.installed-test $(VENV)/.installed-jax
	scripts/test-deps
	$(ACTIVATE) && python -m pytest

# All three checks run, and it fails if any does. `ruff format --diff .` shows what the formatter would change.
lint: $(VENV)/.installed-test
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check --output-format concise . || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status
