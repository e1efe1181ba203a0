"""B1: build throughput (sources -> manifests + checksums + packed arrays) on synthetic-large.

Usage: python benchmarks/bench_build.py [--per-class 1000]   (10 classes x per-class x 2 pools tiles)
Reports tiles/s of the whole `build_dataset` (both pools; derived GeoTIFF/PNG files written and hashed)
and of the part after the sources produced the arrays. Goal: >= 300 tiles/s on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ackd_bench.data.build import build_dataset  # noqa: E402
from ackd_bench.data.presets import spec_from_options  # noqa: E402
from ackd_bench.data.sources.synthetic import Synthetic  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=1000)
    args = ap.parse_args()
    opts = {"per_class": args.per_class}
    spec = spec_from_options(preset="synthetic-large", teacher_options=opts, student_options=opts)
    with tempfile.TemporaryDirectory() as tmp:
        spent = [0.0]
        original = Synthetic.read

        def timed_read(self, sample):  # time spent generating synthetic tiles (not build work)
            t = time.perf_counter()
            try:
                return original(self, sample)
            finally:
                spent[0] += time.perf_counter() - t

        Synthetic.read = timed_read
        t0 = time.perf_counter()
        try:
            card = build_dataset(spec, Path(tmp) / "bench", quiet=True)
        finally:
            Synthetic.read = original
        total = time.perf_counter() - t0
    n = sum(sum(c.values()) for pool in card["counts"].values() for c in pool.values())
    source_s = spent[0]
    figures = {
        "tiles_per_s": round(n / total, 1),
        "goal": 300,
        "n": n,
        "params": {"preset": "synthetic-large", "per_class": args.per_class, "total_s": round(total, 2),
                   "source_read_s": round(source_s, 2),
                   "tiles_per_s_excluding_source_reads": round(n / max(total - source_s, 1e-9), 1),
                   "note": "whole build_dataset wall time; source_read_s = time inside the synthetic generator"},
    }
    record("B1", figures)
    print(figures)


if __name__ == "__main__":
    main()
