"""Shared helpers for benchmark scripts: warm-up + median timing, and the results file.

Every figure is a RATIO of two variants measured in the same process (VM timings are noisy), plus the
absolute seconds of each variant for context. Results merge into `benchmarks/results/latest.json`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from ackd_bench.io import atomic_write_json

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def median_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> float:
    """Median wall time of `fn()` over `repeats` runs after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_times(fns: dict[str, Callable[[], Any]], repeats: int = 3, warmup: int = 1) -> dict[str, float]:
    """Median wall time of each variant, the variants run in turn (A B A B ...) after `warmup` rounds.

    Interleaving spreads load from other processes over both sides of a ratio (shared VMs drift).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
    }
    if hasattr(os, "getloadavg"):  # other processes' load skews absolute figures on shared machines
        info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    try:
        import torch

        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def record(
    bench_id: str,
    *,
    ratio: float | None,
    goal: str,
    a_s: float | None = None,
    b_s: float | None = None,
    n: int | None = None,
    params: dict | None = None,
    met: bool | None = None,
    extra: dict | None = None,
    path: Path = RESULTS,
) -> dict:
    """Merge one figure into the results JSON (read-modify-atomic-write) and print a table row."""
    entry = {
        "ratio": ratio,
        "goal": goal,
        "a_s": a_s,
        "b_s": b_s,
        "n": n,
        "params": params or {},
        "met": met,
        "machine": machine(),
    }
    if extra:
        entry.update(extra)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[bench_id] = entry
    atomic_write_json(path, data)
    ratio_txt = "-" if ratio is None else f"{ratio:.3g}"
    print(f"{bench_id:4s} ratio={ratio_txt:>8s} goal {goal:<28s} met={met} a={a_s} b={b_s} n={n}")
    return entry
