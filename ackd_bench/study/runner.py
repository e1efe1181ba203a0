"""Run the study's cells through the sweep machinery and submit every finished run.

Two grids (written as YAML into the work folder, so a user can rerun or inspect them with `ackd-bench sweep`):
the consistency levels with the ACKD pairings (`random`; SemBridge methods pair by their matcher, `ssm`), and
the SCKD reference with `oracle` (SemBridge again `ssm`). Finished cells are skipped, so a rerun resumes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from ackd_bench.errors import AckdError, SubmissionError
from ackd_bench.io import atomic_write_text, read_json
from ackd_bench.study.spec import SCKD_NAME, StudySpec

Echo = Callable[[str], None]
ACKD_PAIRINGS = ["random", "ssm"]
SCKD_PAIRINGS = ["oracle", "ssm"]


def write_grids(spec: StudySpec, benchmarks: dict[str, Path], work: Path) -> list[Path]:
    """study_config.yaml + grid-ackd.yaml + grid-sckd.yaml in `work`; returns the two grid files."""
    config = work / "study_config.yaml"
    atomic_write_text(config, yaml.safe_dump(spec.run_config(), sort_keys=True))
    common = {
        "methods": list(spec.methods),
        "pairs": [spec.pair],
        "seeds": list(spec.seeds),
        "run_args": {"config": config.name, "quiet": True},
        "out": "runs",
    }
    grids = []
    # The student-only baseline never sees the teacher: on the SCKD reference (the same student images as
    # consistency 1) it would repeat the consistency-1 run bit for bit, which the leaderboard refuses as a
    # duplicate submission. It runs at the levels only.
    sckd_methods = [m for m in spec.methods if m != "student"]
    for name, bench_names, pairings, methods in (
        ("grid-ackd.yaml", [n for n in benchmarks if n != SCKD_NAME], ACKD_PAIRINGS, list(spec.methods)),
        ("grid-sckd.yaml", [SCKD_NAME], SCKD_PAIRINGS, sckd_methods),
    ):
        if not methods:
            continue
        grid = {
            "benchmarks": [str(benchmarks[n].resolve()) for n in bench_names],
            "pairings": pairings,
            **common,
            "methods": methods,
        }
        atomic_write_text(work / name, yaml.safe_dump(grid, sort_keys=False))
        grids.append(work / name)
    return grids


def check_grids(grid_files: list[Path]) -> list:
    """The grids, read and their method, pairing and pair names checked (before any benchmark is built)."""
    from ackd_bench.sweep import check_names, load_grid

    grids = [load_grid(path) for path in grid_files]
    for grid in grids:
        check_names(grid)
    return grids


def make_sweep(grids: list):
    """One Sweep over the cells of the checked grids (their benchmarks built), ordered so that concurrent
    workers start different benchmarks (each benchmark's first cell trains its teacher; the others wait for
    it on the cache lock)."""
    from ackd_bench.sweep import Sweep, expand, out_root

    cells = [cell for grid in grids for cell in expand(grid)]
    bench_order = {b: i for i, b in enumerate(dict.fromkeys(c.benchmark for c in cells))}
    cells.sort(key=lambda c: (c.seed, c.method, bench_order[c.benchmark]))
    return Sweep(grids[0], cells, out_root(grids[0]))


def run_cells(sweep, workers: int, echo: Echo) -> None:
    """Run the unfinished cells; a failed cell is an error naming its log."""
    from ackd_bench.sweep.runner import run, summary

    run(sweep, workers=workers, echo=echo)
    lines, ok = summary(sweep)
    if not ok:
        raise AckdError(f"study cells did not all finish ({'; '.join(lines[1:3]) or lines[0]})", sweep.status_path)


def submitted_dir(run_dir: Path, submissions: Path) -> Path:
    """Where `submit` stores the record of `run_dir` in `submissions` (the leaderboard's own key)."""
    from ackd_bench.report.submit import record_key

    return submissions.joinpath(*record_key(read_json(run_dir / "result.json"))[0])


def same_record(run_dir: Path, target: Path) -> bool:
    """The submitted copy holds the run's record (`submit` may add its own `submission` block)."""
    if not (target / "result.json").is_file():
        return False
    try:
        stored = read_json(target / "result.json")
    except AckdError:
        return False
    stored.pop("submission", None)
    return stored == read_json(run_dir / "result.json")


def submit_cells(sweep, submissions: Path, echo: Echo) -> None:
    """Submit every finished cell to `submissions` (scores recomputed against its benchmark); a record already
    there with the same content is left alone, so reruns write nothing."""
    from ackd_bench.report.submit import submit

    refused = []
    for cell in sweep.cells:
        if same_record(cell.run_dir, submitted_dir(cell.run_dir, submissions)):
            continue
        try:
            submit(cell.run_dir, submissions, benchmark=cell.benchmark, replace=True)
            echo(f"submitted {cell.rel_dir}")
        except SubmissionError as exc:
            refused.append(f"{cell.rel_dir}: {exc}")
    if refused:
        raise SubmissionError(refused, submissions)


def status_counts(sweep) -> str:
    return json.dumps(sweep.counts(), sort_keys=True)
