#!/usr/bin/env bash
# One script for the GPU machine: correctness (tests marked `gpu`) and speed (P7 projection), in one short run.
#
#   make gpu-bundle                       # on a CPU machine: builds gpu_bundle/bench, the default benchmark
#                                         # the GPU tests use (the GPU machine has no rasterio to build it)
#   bash benchmarks/gpu_check.sh          # on the GPU machine, from the repository root (~5 min on an H100)
#   bash benchmarks/gpu_check.sh --quick  # a CPU smoke test of this script (S-S, tiny matcher, 3 epochs)
#
# The GPU machine has torch, pytest, numpy, pandas, pyarrow, scipy, click, tqdm, pyyaml but no pot, faiss or
# geo stack (docs/performance.md): the package runs from the source tree (PYTHONPATH), retrieval falls back
# to torch matmul + top-k, transport tests run only when pot is importable. Figures go to $OUT (default
# gpu_check_out/): gpu_check.json (P7, P1 on the device) and the pytest log.
set -uo pipefail

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
OUT=${OUT:-gpu_check_out}
BENCH=${GPU_BENCH:-gpu_bundle/bench}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
status=0

echo "== machine"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"

if [ ! -f "$BENCH/benchmark.json" ]; then
  if "$PY" -c "import rasterio" 2>/dev/null; then
    echo "== building $BENCH (the default benchmark; rasterio present)"
    "$PY" -m ackd_bench build-dataset --out "$BENCH" --overwrite --quiet || exit 1
  else
    echo "error: $BENCH: no benchmark here and no rasterio to build one; run 'make gpu-bundle' on a CPU machine" >&2
    exit 2
  fi
fi

echo "== tests marked gpu"
tests="tests/test_gpu.py tests/test_determinism.py"
"$PY" -c "import ot" 2>/dev/null && tests="$tests tests/test_transport.py"
ACKD_TEST_BENCH="$BENCH" "$PY" -m pytest -q -p no:cacheprovider -m gpu $tests 2>&1 | tee "$OUT/pytest_gpu.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== P7: SemBridge R-R throughput, P1 on this device, projected 200-epoch EuroSAT-size run"
if [ "$QUICK" = 1 ]; then
  args=(--pair S-S --n 256 --matcher-n 128 --repeats 1 --matcher-arch tiny)
else
  args=(--pair R-R --n 8192 --repeats 3)
fi
"$PY" benchmarks/gpu_throughput.py "${args[@]}" --out "$OUT/gpu_check.json" || status=1

echo "gpu_check: $([ $status = 0 ] && echo OK || echo FAILED) (figures in $OUT/)"
exit $status
