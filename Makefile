# `make repro` runs the pipeline, `make test` the test suite; both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
ACTIVATE := . $(VENV)/bin/activate

.PHONY: setup repro test
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

repro: setup
	$(ACTIVATE) && dvc repro

test: setup
	$(ACTIVATE) && python -m pytest
