# `make repro` runs the pipeline, `make test` the test suite; both set up .venv first, and
# `make test` installs the Debian packages the tests need (scripts/test-deps).
PYTHON ?= python3.11
VENV := .venv
ACTIVATE := . $(VENV)/bin/activate

.PHONY: setup repro test
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

repro: setup
	$(ACTIVATE) && dvc repro

# The tests also train on JAX, Keras' second backend: requirements-jax.txt.
$(VENV)/.installed-jax: $(VENV)/.installed requirements-jax.txt
	$(VENV)/bin/pip install --quiet -r requirements-jax.txt
	touch $@

test: setup $(VENV)/.installed-jax
	scripts/test-deps
	$(ACTIVATE) && python -m pytest
