# Two commands on a fresh machine: `make run` (the demo) and `make test` (the suite).
# Both set up what they need: a virtualenv in .venv, the Python packages, and Mosquitto.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PREFIX ?= build/everest
CSMS ?=
OCPP ?= 16

.PHONY: run test lint bench everest-module everest-tests setup mosquitto clean

setup: $(STAMP) mosquitto

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Mosquitto is the broker EVerest users run; the framework starts private instances of it.
mosquitto:
	@if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing mosquitto with apt-get"; \
		apt-get install -y -qq mosquitto >/dev/null 2>&1 || \
		(apt-get update -qq >/dev/null && apt-get install -y -qq mosquitto >/dev/null); \
	else \
		echo "mosquitto is missing: install it with 'sudo apt-get install mosquitto' and run make again" >&2; \
		exit 1; \
	fi

test: setup
	$(PY) -m pytest -n 2 --dist loadfile -q

run: setup
	$(PY) -m sim.demo --ocpp $(OCPP) $(if $(CSMS),--csms $(CSMS),)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/framework_rtt.py
	$(PY) bench/ocpp_link.py
	$(PY) bench/composite_schedule.py
	$(PY) bench/local_list.py
	$(PY) bench/meter_journal.py
	$(PY) bench/scale.py --repeat 1

# Lays out modules/OCPP under an EVerest prefix so that a real EVerest manager can launch this module.
everest-module: setup
	$(PY) -m framework.everest_layout --prefix $(PREFIX)

# EVerest's own OCPP 1.6 suite against this module under the real EVerest manager, built from EVerest's git
# repositories in EVEREST_SOURCES (see tests/everest/everest_suite.py). Not part of `make test`.
EVEREST_TESTS ?=
everest-tests: setup
	$(PY) tests/everest/everest_suite.py setup --sources "$(EVEREST_SOURCES)"
	$(PY) tests/everest/everest_suite.py run $(EVEREST_TESTS)

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
