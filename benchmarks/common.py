"""Fixtures shared by the benchmark scripts: a synthetic benchmark, a private cache, run configs, epoch times.

Benchmarks never touch the user's cache: `private_cache()` points `ACKD_BENCH_CACHE` at a temp folder for
the duration of a script (teachers and matchers trained there are thrown away).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def private_cache() -> Iterator[Path]:
    """A throw-away ACKD_BENCH_CACHE (restored afterwards)."""
    old = os.environ.get("ACKD_BENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="ackd-bench-cache-") as tmp:
        os.environ["ACKD_BENCH_CACHE"] = tmp
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("ACKD_BENCH_CACHE", None)
            else:
                os.environ["ACKD_BENCH_CACHE"] = old


def build_synthetic(out: Path, per_class: int, classes: int = 10, size: int = 32) -> dict:
    """The `synthetic-large` recipe with `per_class` tiles per class and pool; returns the card."""
    from ackd_bench.data.build import build_dataset
    from ackd_bench.data.presets import spec_from_options

    opts = {"per_class": per_class, "classes": classes}
    spec = spec_from_options(preset="synthetic-large", teacher_options=opts, student_options=opts, size=size)
    return build_dataset(spec, out, quiet=True)


def run_config(bench: Path, method: str, pair: str, epochs: int, **over) -> dict:
    """A resolved `fast`-profile config for `ackd-bench run` on CPU, teacher trained for 1 epoch (speed only).

    Plain Adam, constant lr, no augmentation: the figures compare engine work, not recipes (P5's hand loop
    is plain Adam too)."""
    from ackd_bench.config import resolve_config

    base = {
        "benchmark": str(bench),
        "method": method,
        "pair": pair,
        "epochs": epochs,
        "device": "cpu",
        "batch_size": 64,
        "eval_batch_size": 256,
        "optimizer": "adam",
        "weight_decay": 0.0,
        "cosine": False,
        "augment": "none",
        "teacher": {"epochs": 1, "batch_size": 64, "augment": "none"},
    }
    return resolve_config("fast", None, {**base, **over})


def epoch_seconds(run_dir: Path, skip: int = 1) -> list[float]:
    """Training seconds of each epoch of a finished run (metrics.jsonl `epoch_s`), the first `skip` dropped."""
    rows = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [float(r["epoch_s"]) for r in rows][skip:]


def median(values: list[float]) -> float:
    return statistics.median(values)


def open_run(cfg: dict, out: Path):
    """A set-up engine run (`engine.run.StudentRun`: teacher, caches, method, initial pairing) whose epochs
    the caller drives one at a time with `run.epoch(e)` (so two runs can be interleaved epoch by epoch)."""
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.run import StudentRun, finalize_config

    bench = Benchmark.open(cfg["benchmark"])
    cfg = finalize_config(cfg, bench)
    Path(out).mkdir(parents=True, exist_ok=True)
    run = StudentRun(cfg, bench, Path(out), quiet=True)
    run.setup()
    run.restore(False)
    return run
