# Two commands a newcomer needs: `make run` and `make test`. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
SYNAPSE_VENV := .venv-synapse
SYNAPSE_SPEC := matrix-synapse>=1.160,<2

.PHONY: run test lint style types unit e2e chaos bench-smoke bench template venvs

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

# Tests run on both cores; each phase's directory is in tests/README.md. pytest's exit 5 (no
# tests collected) fails the phase like any other failure.
PYTEST := $(VENV)/bin/python -m pytest -q -n 2 --durations=5
PHASE := .ci/phase

lint: style types

style: $(VENV)/.installed
	$(VENV)/bin/ruff check bot cogs tests benchmarks
	$(VENV)/bin/ruff format --check bot cogs tests benchmarks

types: $(VENV)/.installed
	$(VENV)/bin/mypy

unit: $(VENV)/.installed
	$(PYTEST) tests --ignore=tests/e2e --ignore=tests/chaos --ignore=$(BENCH_SMOKE)

e2e: venvs
	$(PYTEST) tests/e2e

chaos: $(VENV)/.installed
	$(PYTEST) tests/chaos

# Every benchmark at small sizes, judged against its goal (the numbers of a quick run on a
# shared machine are no claim; `make bench` measures).
BENCH_SMOKE := tests/test_benchmarks_smoke.py
bench-smoke: venvs
	$(VENV)/bin/python -m pytest -q $(BENCH_SMOKE)

# Every phase prints its wall-clock time, and the build ends with the table, so growth shows.
test:
	@$(PHASE) --start
	@$(PHASE) install $(MAKE) --no-print-directory venvs
	@$(PHASE) lint $(MAKE) --no-print-directory style
	@$(PHASE) types $(MAKE) --no-print-directory types
	@$(PHASE) unit $(MAKE) --no-print-directory unit
	@$(PHASE) e2e $(MAKE) --no-print-directory e2e
	@$(PHASE) chaos $(MAKE) --no-print-directory chaos
	@$(PHASE) "benchmarks smoke" $(MAKE) --no-print-directory bench-smoke
	@$(PHASE) --report

# Every benchmark judged against its goal, written to benchmarks/RESULTS.md (commit that file
# alone afterwards, so the commit before it is the code measured). Takes about half an hour.
bench: $(VENV)/.installed $(SYNAPSE_VENV)/.installed
	$(VENV)/bin/python -m benchmarks.run_all

# The translation template: every word a member reads (tests/test_template.py checks it).
template: $(VENV)/.installed
	PYTHONPATH=. $(VENV)/bin/python -m bot.i18n_extract data/locale/circlebot.pot
