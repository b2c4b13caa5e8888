# The two entry points of README: `make demo` (the main job) and `make test` (the test suite).
# Each creates .venv/ in the repository and installs everything from PyPI on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ec-hw-installed

.PHONY: demo test test-all venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ec-hw needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	@touch $(STAMP)

# A short EC training run that visibly learns (InvertedPendulum-v5) through the simulated
# hardware: the device's Verilog (frame link, protocol, LIF core) compiled by Verilator behind a
# pseudo-terminal, one virtual board per worker, driven over pyserial; members are sampled on
# the device from (generation seed, member index). A 64-neuron network
# keeps it to minutes; it stops once the deterministic network (rho > 0.5) reaches 1000.
demo: $(STAMP)
	$(BIN)/ec-hw train --env InvertedPendulum-v5 --target sim --sampling device --neurons 64 --pop 64 --generations 40 --stop-at 1000

# Unit, gateware and cocotb/Verilator tests (slow and hardware tests are deselected).
test: $(STAMP)
	$(BIN)/pytest -q

# Everything, slow tests included (no real board needed).
test-all: $(STAMP)
	$(BIN)/pytest -q -m "not hardware"

clean:
	rm -rf $(VENV) build sim_build runs .pytest_cache
