"""`ackd-bench study asymmetry`: build the family, run the cells, submit them, write the study folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ackd_bench.study import analysis, family, report, runner
from ackd_bench.study.spec import StudySpec


def run_asymmetry(
    spec: StudySpec,
    out: str | Path,
    *,
    work: str | Path | None = None,
    submissions: str | Path | None = None,
    workers: int = 2,
    echo: Callable[[str], None] = print,
) -> list[str]:
    """The whole study; reruns reuse the built benchmarks, skip finished cells and identical submissions.

    out: the study folder (report, CSV, plots). work: benchmarks, run folders and grids (default out/work).
    submissions: where every run is submitted and read back from (default out/submissions; a leaderboard's
    submissions folder puts the study on that leaderboard). Returns the generated reading.
    """
    out = Path(out)
    work = Path(work) if work is not None else out / "work"
    submissions = Path(submissions) if submissions is not None else out / "submissions"
    echo(f"study: {spec.images_per_class} images per class and pool, {len(spec.levels)} levels + SCKD reference")
    folders = family.family_folders(spec, work / "benchmarks")
    grids = runner.check_grids(runner.write_grids(spec, folders, work))  # bad names fail before any build
    family.build_family(spec, work / "benchmarks", workers=workers)
    sweep = runner.make_sweep(grids)
    runner.run_cells(sweep, workers, echo)
    runner.submit_cells(sweep, submissions, echo)
    runs = analysis.load_runs(spec, submissions, sweep.cells)
    note = (
        f"Run records: {len(runs)} runs submitted to `{submissions.as_posix()}` (scores recomputed from the "
        "predictions against each benchmark's labels); this report reads them back from there."
    )
    lines = report.write(spec, runs, out, note)
    echo(f"study folder: {out}")
    return lines
