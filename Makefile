# ackd-bench: two commands for users (`make demo`, `make test`); the rest are maintainer helpers.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ACKD   := $(VENV)/bin/ackd-bench
STAMP  := $(VENV)/.installed
DEMO   ?= demo
PAIR   ?= R-R

.PHONY: install test demo leaderboard bench gpu-bundle clean-demo

install: $(STAMP)

# Idempotent: reinstalls only when the pinned requirements or the package metadata change.
$(STAMP): requirements-cpu.txt setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-cpu.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

# The main job on the embedded real sample: build the benchmark, train a teacher, run the
# student-only baseline, KD and SemBridge (plus KD on the SCKD oracle pairs, for the asymmetry penalty)
# on one pair and several seeds, submit every run, rebuild the leaderboard. Reruns resume finished runs.
DEMO_RUNS ?= student:random kd:random sembridge:ssm kd:oracle
SEEDS     ?= 0 1 2

demo: install
	$(ACKD) build-dataset --out $(DEMO)/benchmark --overwrite
	$(ACKD) train-teacher --benchmark $(DEMO)/benchmark --arch $(PAIR) --profile fast
	for seed in $(SEEDS); do \
	  for spec in $(DEMO_RUNS); do \
	    method=$${spec%%:*}; pairing=$${spec##*:}; run=$(DEMO)/runs/$$method-$$pairing-$(PAIR)-seed$$seed; \
	    $(ACKD) run --benchmark $(DEMO)/benchmark --method $$method --pairing $$pairing --arch $(PAIR) \
	      --profile fast --seed $$seed --cost-every 1 --out $$run --resume --quiet || exit 1; \
	    $(ACKD) submit $$run --benchmark $(DEMO)/benchmark --replace || exit 1; \
	  done; \
	done
	$(MAKE) leaderboard
	@echo "Leaderboard: leaderboard/README.md and leaderboard/index.html"

leaderboard: install
	$(ACKD) leaderboard --submissions leaderboard/submissions --out leaderboard

bench: install
	$(PY) -m benchmarks

# What benchmarks/gpu_check.sh needs on a GPU machine without rasterio: the default benchmark, prebuilt.
gpu-bundle: install
	$(ACKD) build-dataset --out gpu_bundle/bench --overwrite --quiet

clean-demo:
	rm -rf $(DEMO)
