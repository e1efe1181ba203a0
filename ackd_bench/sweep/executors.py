"""Ways to run cells: N local worker processes, or a submitit job array (SLURM, or local/debug for tests).

Both run the same thing per cell, `run_cell`: the cell's `ackd-bench run` command as a subprocess with
its output appended to `<run_dir>.sweep.log`, under a per-cell file lock so two sweeps never run one cell
at the same time.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

from ackd_bench.errors import ConfigError
from ackd_bench.sweep.grid import Cell
from ackd_bench.sweep.slurm_config import submitit_parameters

# on_done(cell, returncode or None when another process holds the cell, error text)
OnDone = Callable[[Cell, "int | None", str], None]


def run_cell(argv: list[str], log_path: str, lock_path: str, env: dict[str, str] | None = None) -> int | None:
    """Run one cell's command; returns its exit code, or None when the cell is locked by another sweep.

    The log is a stream (appended, one header line per attempt), so it is the one file a sweep does not
    write atomically: a crash leaves a readable partial log, which is what a log is for.
    """
    from filelock import FileLock, Timeout

    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    try:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"# ackd-bench sweep: {shlex.join(argv)}\n")
            log.flush()
            full_env = {**os.environ, **(env or {})}
            proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, env=full_env, stdin=subprocess.DEVNULL)
            log.write(f"# exit code {proc.returncode}\n")
        return proc.returncode
    finally:
        lock.release()


def _thread_env(workers: int) -> dict[str, str]:
    """Split the CPU cores between workers unless the user already chose a thread count."""
    if "OMP_NUM_THREADS" in os.environ:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}


def run_local(cells: list[Cell], workers: int, on_done: OnDone) -> None:
    """Run cells with at most `workers` concurrent `ackd-bench run` processes on this machine."""
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    env = _thread_env(workers)
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {
            pool.submit(run_cell, cell.command(), str(cell.log_path), str(cell.lock_path), env): cell for cell in cells
        }
        for future in as_completed(futures):
            cell = futures[future]
            try:
                returncode, error = future.result(), ""
            except OSError as exc:  # e.g. the interpreter could not be started
                returncode, error = 1, f"could not start: {exc}"
            on_done(cell, returncode, error)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def make_submitit_executor(slurm: dict[str, Any], folder: Path) -> Any:
    """A submitit AutoExecutor for the grid's `slurm:` section (cluster slurm, local or debug)."""
    try:
        import submitit
    except ImportError:
        raise ConfigError("--executor slurm needs submitit: pip install 'ackd-bench[scale]'") from None
    cluster = slurm.get("cluster", "slurm")
    try:
        executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    except Exception as exc:  # e.g. sbatch not on PATH
        raise ConfigError(f"cannot use submitit cluster {cluster!r}: {exc}") from None
    executor.update_parameters(**submitit_parameters(slurm))
    return executor


def run_slurm(executor: Any, cells: list[Cell], on_done: OnDone, echo: Callable[[str], None] = print) -> None:
    """Submit all cells as one job array (`map_array`) on a `make_submitit_executor` and wait for every job."""
    from submitit.helpers import as_completed as jobs_completed

    jobs = executor.map_array(
        run_cell,
        [cell.command() for cell in cells],
        [str(cell.log_path) for cell in cells],
        [str(cell.lock_path) for cell in cells],
    )
    if jobs:
        echo(
            f"submitted job array {jobs[0].job_id.split('_')[0]} ({len(jobs)} tasks); submitit files in {executor.folder}"
        )
    by_id = {job.job_id: cell for job, cell in zip(jobs, cells)}
    poll = 30.0 if executor.cluster == "slurm" else 0.5
    for job in jobs_completed(jobs, poll_frequency=poll):
        cell = by_id[job.job_id]
        try:
            returncode, error = job.result(), ""
        except Exception as exc:  # the job itself failed: timeout, preemption, node failure
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            returncode, error = 1, f"job {job.job_id} failed: {first} (see {job.paths.stderr})"
        on_done(cell, returncode, error)
