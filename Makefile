# ackd-bench: two commands for users (`make demo`, `make test`); the rest are maintainer helpers.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ACKD   := $(VENV)/bin/ackd-bench
STAMP  := $(VENV)/.installed
DEMO   ?= demo
PAIR   ?= R-R
SEEDS  ?= 0

.PHONY: install test demo leaderboard bench clean-demo

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
# student-only baseline, KD and SemBridge on one pair, submit the runs, rebuild the leaderboard.
demo: install
	$(ACKD) build-dataset --out $(DEMO)/benchmark --overwrite
	$(ACKD) train-teacher --benchmark $(DEMO)/benchmark --arch $(PAIR) --profile fast
	for seed in $(SEEDS); do \
	  for method in student kd sembridge; do \
	    $(ACKD) run --benchmark $(DEMO)/benchmark --method $$method --arch $(PAIR) --profile fast \
	      --seed $$seed --cost-every 1 --out $(DEMO)/runs/$$method-$(PAIR)-seed$$seed --resume || exit 1; \
	    $(ACKD) submit $(DEMO)/runs/$$method-$(PAIR)-seed$$seed --benchmark $(DEMO)/benchmark --replace || exit 1; \
	  done; \
	done
	$(MAKE) leaderboard
	@echo "Leaderboard: leaderboard/README.md and leaderboard/index.html"

leaderboard: install
	$(ACKD) leaderboard --submissions leaderboard/submissions --out leaderboard

bench: install
	$(PY) -m benchmarks

clean-demo:
	rm -rf $(DEMO)
