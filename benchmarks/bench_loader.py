"""P3: training-loader samples/s, packed memmap arrays vs one rasterio open per sample.

Usage: python benchmarks/bench_loader.py [--repeats 5]
Builds the default preset (shipped EuroSAT sample) in a temp folder, then reads every teacher-train
sample (all 13 bands) both ways; median of the repeats after one warm-up each. Goal: ratio >= 20.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ackd_bench.data.benchmark import Benchmark  # noqa: E402
from ackd_bench.data.build import build_dataset  # noqa: E402
from ackd_bench.data.presets import spec_from_options  # noqa: E402


def rate(fn, n: int, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def main() -> None:
    import rasterio

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build_dataset(spec_from_options(), Path(tmp) / "bench", quiet=True)
        bench = Benchmark.open(Path(tmp) / "bench")
        arr = bench.load_arrays("teacher", "train")
        paths = [bench.pool_root("teacher") / p for p in bench.manifest("teacher").query("split == 'train'")["path"]]
        n = len(paths)

        def packed() -> None:
            for i in range(n):
                np.array(arr.x[i], dtype=np.float32)

        def files() -> None:
            for p in paths:
                with rasterio.open(p) as ds:
                    ds.read().astype(np.float32)

        r_packed, r_files = rate(packed, n, args.repeats), rate(files, n, args.repeats)
    figures = {"ratio": round(r_packed / r_files, 1), "goal": 20, "n": n,
               "params": {"packed_samples_per_s": round(r_packed, 1), "file_samples_per_s": round(r_files, 1),
                          "repeats": args.repeats, "benchmark": "eurosat-sample teacher train, 13 bands, 64x64 uint16"}}
    record("P3", figures)
    print(figures)


if __name__ == "__main__":
    main()
