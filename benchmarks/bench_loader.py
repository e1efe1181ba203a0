"""P3: training-loader samples/s, packed memory-mapped arrays vs one rasterio open per sample (as torchgeo does).

Usage: python benchmarks/bench_loader.py [--repeats 5]
Builds the default preset (the shipped EuroSAT sample: real 13-band 64x64 uint16 GeoTIFFs) in a temp folder,
then reads every teacher-train sample both ways into float32; warm-up, then the median of the repeats, the
two variants interleaved. Goal: ratio (packed samples/s over per-file samples/s) >= 20.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import interleaved_times, record  # noqa: E402

GOAL = 20.0


def main(argv: list[str] | None = None) -> dict:
    import rasterio

    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.data.build import build_dataset
    from ackd_bench.data.presets import spec_from_options

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
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

        t = interleaved_times({"packed": packed, "files": files}, repeats=args.repeats)
    ratio = t["files"] / t["packed"]
    return record(
        "P3",
        ratio=round(ratio, 1),
        goal=f">= {GOAL:g}x",
        a_s=round(t["files"], 4),
        b_s=round(t["packed"], 5),
        n=n,
        met=ratio >= GOAL,
        params={
            "benchmark": "eurosat-sample teacher train, all 13 bands, 64x64 uint16",
            "repeats": args.repeats,
            "memmap": isinstance(arr.x, np.memmap) or isinstance(getattr(arr.x, "base", None), np.memmap),
        },
        extra={
            "packed_samples_per_s": round(n / t["packed"], 1),
            "file_samples_per_s": round(n / t["files"], 1),
            "note": "a = per-file GeoTIFF reads, b = packed array reads (seconds per pass over n samples)",
        },
    )


if __name__ == "__main__":
    main()
