# ackd-bench: two commands for users (`make demo`, `make test`); the rest are maintainer helpers.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ACKD   := $(VENV)/bin/ackd-bench
STAMP  := $(VENV)/.installed
DEMO   ?= demo
# the cheapest pair keeps `make demo` within its 15 minutes on 2 CPU cores (docs/study.md)
PAIR   ?= S-S

.PHONY: install test demo study readme-study leaderboard bench gpu-bundle clean-demo

install: $(STAMP)

# Idempotent: reinstalls only when the pinned requirements or the package metadata change.
$(STAMP): requirements-cpu.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-cpu.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

# The main job. 1) The embedded real sample (smoke scale: 20 student test images, its CIs cannot resolve
# differences): build the ACKD benchmark and its declared SCKD sibling (`eurosat-sample-paired`: the same
# student images paired with their own tiles), train a teacher on each (in parallel), then one sweep per build
# (DEMO_WORKERS processes of one thread each): the student-only baseline, KD and SemBridge on the ACKD build and
# KD on the paired build (the SCKD reference of the asymmetry penalty), on one pair and several seeds; every run
# is submitted. 2) The asymmetry study (`study`). 3) Rebuild the leaderboard and the README's study summary.
# Reruns resume: finished runs are skipped.
DEMO_METHODS ?= student kd sembridge
SEEDS        ?= 0 1 2
DEMO_WORKERS ?= 2
comma := ,
space := $(empty) $(empty)
list   = [$(subst $(space),$(comma) ,$(strip $(1)))]

# $(1) benchmark folder under $(DEMO), $(2) methods, $(3) pairings (invalid method/pairing pairs are left out)
define demo_grid
	printf '%s\n' 'benchmarks: [$(1)]' 'methods: $(call list,$(2))' 'pairings: $(call list,$(3))' \
	  'pairs: [$(PAIR)]' 'seeds: $(call list,$(SEEDS))' \
	  'run_args: {profile: fast, cost-every: 10, quiet: true}' 'out: runs/$(1)' > $(DEMO)/grid-$(1).yaml.tmp
	mv $(DEMO)/grid-$(1).yaml.tmp $(DEMO)/grid-$(1).yaml
	$(ACKD) sweep $(DEMO)/grid-$(1).yaml --workers $(DEMO_WORKERS) --submit --replace
endef

demo: install
	$(ACKD) build-dataset --out $(DEMO)/benchmark --overwrite --quiet
	$(ACKD) build-dataset --preset eurosat-sample-paired --out $(DEMO)/benchmark-paired --overwrite --quiet
	OMP_NUM_THREADS=1 $(ACKD) train-teacher --benchmark $(DEMO)/benchmark --arch $(PAIR) --profile fast & pid=$$!; \
	OMP_NUM_THREADS=1 $(ACKD) train-teacher --benchmark $(DEMO)/benchmark-paired --arch $(PAIR) --profile fast; \
	rc=$$?; wait $$pid && exit $$rc
	$(call demo_grid,benchmark,$(DEMO_METHODS),random ssm)
	$(call demo_grid,benchmark-paired,kd,oracle)
	$(MAKE) study
	$(MAKE) leaderboard
	$(MAKE) readme-study
	@echo "Leaderboard: leaderboard/README.md and leaderboard/index.html; study: $(STUDY)/README.md"

# The controlled asymmetry study (docs/study.md): synthetic benchmarks that differ only in semantic
# consistency, plus the SCKD reference; its runs go to the leaderboard's submissions, its report to $(STUDY).
STUDY      ?= leaderboard/asymmetry
STUDY_ARGS ?=
study: install
	$(ACKD) study asymmetry --out $(STUDY) --work $(DEMO)/study --submissions leaderboard/submissions $(STUDY_ARGS)

# Copies the study's generated summary (plot + three sentences) into README.md between its markers.
readme-study: install
	$(PY) -m ackd_bench.study.splice README.md $(STUDY)

leaderboard: install
	$(ACKD) leaderboard --submissions leaderboard/submissions --out leaderboard

bench: install
	$(PY) -m benchmarks

# What benchmarks/gpu_check.sh needs on a GPU machine without rasterio: the default benchmark, prebuilt.
gpu-bundle: install
	$(ACKD) build-dataset --out gpu_bundle/bench --overwrite --quiet

clean-demo:
	rm -rf $(DEMO)
