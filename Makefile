# wavebp: `make run` (the main job) and `make test` (the whole suite) each do their own set-up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.wavebp-installed
OUT ?= runs/demo
export OMP_NUM_THREADS ?= 2
export MPLBACKEND := Agg

.PHONY: run test lint notebooks bench bench-setup paper reciprocity codesign sweep coupler-table setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	@bash scripts/setup.sh
	@touch $@

run: $(STAMP)
	$(VENV)/bin/wavebp demo --out $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check wavebp tests benchmarks notebooks
	$(VENV)/bin/ruff format --check wavebp tests benchmarks notebooks
	$(VENV)/bin/lint-imports

# Meep tests run in their own process: importing Debian's meep switches the process to
# flush-denormals-to-zero (DESIGN.md), so no other test may share a process with it.
test: $(STAMP) lint
	$(PY) -m pytest -m 'not slow and not meep' -q
	$(PY) -m pytest -m 'meep and not slow' -q -p no:cacheprovider || [ $$? -eq 5 ]
	$(MAKE) notebooks

notebooks: $(STAMP)
	@mkdir -p notebooks/_out
	@for nb in notebooks/[0-9]*.py; do \
		[ -e "$$nb" ] || continue; \
		echo "notebook: $$nb"; \
		WAVEBP_FAST=1 WAVEBP_FIG_DIR=notebooks/_out $(PY) "$$nb" || exit 1; \
	done

paper: $(STAMP)
	$(VENV)/bin/wavebp paper --fast --out runs/paper-fast --overwrite

reciprocity: $(STAMP)
	$(VENV)/bin/wavebp reciprocity --out runs/reciprocity --overwrite

codesign: $(STAMP)
	$(VENV)/bin/wavebp codesign --out runs/codesign --overwrite

sweep: $(STAMP)
	$(VENV)/bin/wavebp sweep --out runs/sweep --resume

# Recomputes the shipped directional-coupler table with Meep (about 8 min on one core).
coupler-table: $(STAMP)
	OMP_NUM_THREADS=1 $(VENV)/bin/wavebp coupler-table --out wavebp/data/couplers --overwrite --check

bench-setup:
	bash benchmarks/setup_anchors.sh

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis runs notebooks/_out
