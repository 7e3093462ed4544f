# Two commands a newcomer needs: `make run` and `make test`. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
SYNAPSE_VENV := .venv-synapse
SYNAPSE_SPEC := matrix-synapse>=1.160,<2

.PHONY: run test lint venvs bench template

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

# Synapse pins its own Twisted and friends, so it lives in a venv of its own (Matrix e2e tests).
$(SYNAPSE_VENV)/.installed:
	$(PYTHON) -m venv $(SYNAPSE_VENV)
	$(SYNAPSE_VENV)/bin/pip install -q --upgrade pip
	$(SYNAPSE_VENV)/bin/pip install -q '$(SYNAPSE_SPEC)'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/circlebot run

venvs:
	$(MAKE) -j2 $(VENV)/.installed $(SYNAPSE_VENV)/.installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot cogs tests benchmarks
	$(VENV)/bin/ruff format --check bot cogs tests benchmarks
	$(VENV)/bin/mypy

test: venvs lint
	$(VENV)/bin/python -m pytest -q

# Every benchmark judged against its goal, written to benchmarks/RESULTS.md (commit that file
# alone afterwards, so the commit before it is the code measured). Takes about half an hour.
bench: $(VENV)/.installed $(SYNAPSE_VENV)/.installed
	$(VENV)/bin/python -m benchmarks.run_all

# The translation template: every word a member reads (tests/test_template.py checks it).
template: $(VENV)/.installed
	PYTHONPATH=. $(VENV)/bin/pybabel extract -F babel.cfg -o data/locale/circlebot.pot --no-location .
