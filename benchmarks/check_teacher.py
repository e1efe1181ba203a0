"""Is the teacher worth distilling? Teacher test OA next to linear probes on per-band statistics.

Usage:
  python benchmarks/check_teacher.py --benchmark B [--arch R-R] [--profile fast] [--epochs N]
      One benchmark: trains (or reuses from the cache) the teacher exactly as `ackd-bench run` would and
      prints its test OA next to probes (engine/probe.py) fitted on the same train split: all teacher bands,
      the teacher tiles' RGB bands only, and the student pool's RGB images. A teacher below the MS probe is
      weak (the issue that motivated this check: 28 % vs 76 % on the 200-tile sample).
  python benchmarks/check_teacher.py --generator [--classes 4] [--per-class 100] [--size 32] [--arch S-S]
      The synthetic generator's calibration (docs/datasets.md): for each --levels consistency (default 1),
      builds a synthetic benchmark (paired split at consistency 1, so teacher and student test sets are the
      same tiles; disjoint regions otherwise), then reports teacher-only OA, the RGB student-only baseline
      (`run --method student`) and the probes. Goal: teacher OA >= student-only OA + 10 points at consistency 1.
Results go to benchmarks/results/teacher_check.json (one entry per benchmark); nothing is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ackd_bench.io import atomic_write_json  # noqa: E402
from benchmarks.common import private_cache  # noqa: E402
from benchmarks.harness import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "teacher_check.json"


def check_benchmark(bench_dir: Path, arch: str, profile: str, epochs: int | None, student: bool, seed: int = 0) -> dict:
    """Teacher OA, probes and (when `student`) the student-only baseline on one built benchmark."""
    from ackd_bench.config import resolve_config
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.probe import teacher_check
    from ackd_bench.engine.run import finalize_config, run_experiment
    from ackd_bench.runtime.device import resolve_device

    bench = Benchmark.open(bench_dir)
    over = {
        "benchmark": str(bench_dir),
        "method": "student",
        "pair": arch,
        "device": "cpu",
        "seed": seed,
        "epochs": epochs,
        "teacher": {"epochs": epochs},
    }
    cfg = finalize_config(resolve_config(profile, None, over), bench)
    out = {
        "benchmark": bench.name,
        "classes": bench.classes,
        "arch": arch,
        "profile": profile,
        **teacher_check(bench, cfg, resolve_device("cpu")),
    }
    if student:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_experiment(resolve_config(profile, None, over), Path(tmp) / "run", quiet=True)
        out["student_only_oa"] = result["metrics"]["test_oa_best_val"]
        out["student_epochs"] = result["epochs"]
        out["teacher_minus_student"] = out["teacher_test_oa"] - out["student_only_oa"]
    return out


def build_generator(out: Path, consistency: float, classes: int, per_class: int, size: int) -> Path:
    """A synthetic benchmark at one consistency level (paired split at 1, disjoint regions below)."""
    from ackd_bench.data.build import build_dataset
    from ackd_bench.data.presets import spec_from_options

    opts = {"per_class": per_class, "classes": classes, "consistency": consistency}
    spec = spec_from_options(
        teacher=("synthetic", ""),
        student=("synthetic", ""),
        teacher_options={**opts, "pool": "teacher"},
        student_options={**opts, "pool": "student"},
        size=size,
        split_by="paired" if consistency >= 1 else "region",
        name=f"synthetic-c{consistency:g}",
    )
    build_dataset(spec, out, quiet=True)
    return out


def _row(r: dict) -> str:
    pct = lambda key: f"{100 * r[key]:5.1f}" if key in r else "    -"  # noqa: E731
    return (
        f"{r['benchmark']:<24s} teacher {pct('teacher_test_oa')} | student-only {pct('student_only_oa')} | "
        f"probe MS {pct('probe_teacher_ms')}  probe RGB(teacher tiles) {pct('probe_teacher_rgb')}  "
        f"probe RGB(student pool) {pct('probe_student_rgb')}"
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmark", type=Path)
    ap.add_argument("--generator", action="store_true")
    ap.add_argument("--arch", default=None, help="pair (default R-R for --benchmark, S-S for --generator)")
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--epochs", type=int, default=None, help="teacher and student epochs (default: the budget)")
    ap.add_argument("--student", action="store_true", help="also train the student-only baseline (--benchmark)")
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--per-class", type=int, default=100)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--levels", default="1", help="consistency levels, comma list (--generator)")
    args = ap.parse_args(argv)
    if bool(args.benchmark) == args.generator:
        ap.error("give --benchmark B or --generator")
    rows = []
    if args.benchmark:
        rows.append(check_benchmark(args.benchmark, args.arch or "R-R", args.profile, args.epochs, args.student))
    else:
        with tempfile.TemporaryDirectory() as tmp, private_cache():
            for level in (float(x) for x in args.levels.split(",")):
                bench = build_generator(Path(tmp) / f"c{level:g}", level, args.classes, args.per_class, args.size)
                row = check_benchmark(bench, args.arch or "S-S", args.profile, args.epochs, True)
                rows.append({**row, "consistency": level, "per_class": args.per_class, "size": args.size})
                print(_row(rows[-1]), flush=True)
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for row in rows:
        key = row["benchmark"] if args.benchmark else f"generator-c{row['consistency']:g}-k{args.classes}"
        data[key] = {**row, "machine": machine(), "command": "python benchmarks/check_teacher.py " + " ".join(argv)}
        if args.benchmark:
            print(_row(row))
    atomic_write_json(RESULTS, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
