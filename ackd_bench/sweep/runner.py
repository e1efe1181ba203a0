"""A sweep: skip finished cells, run the rest, track state in `<out>/sweep_status.json`, optionally submit."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ackd_bench import __version__
from ackd_bench.io import atomic_write_json, atomic_write_text, sha256_file
from ackd_bench.sweep.executors import make_submitit_executor, run_local, run_slurm
from ackd_bench.sweep.grid import Cell, Grid
from ackd_bench.sweep.slurm_config import submitit_parameters

STATUS_NAME = "sweep_status.json"
# pending: not run yet; skipped: finished before this sweep; done: finished by this sweep;
# failed: ran and did not produce a valid result.json; busy: another process holds the cell's lock.
STATES = ("pending", "skipped", "done", "failed", "busy")
Echo = Callable[[str], None]


def is_finished(run_dir: Path) -> bool:
    """A cell is finished iff its result.json exists and parses as a JSON object."""
    try:
        return isinstance(json.loads((run_dir / "result.json").read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def _last_line(path: Path, limit: int = 300) -> str:
    """The last non-empty, non-sweep-comment line of a log (usually the error), for the summary."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip() and not line.startswith("# "):
            return line.strip()[:limit]
    return ""


@dataclass
class CellStatus:
    cell: Cell
    state: str = "pending"
    returncode: int | None = None
    message: str = ""
    submit: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.cell
        record = {
            "run_dir": c.rel_dir,
            "benchmark": c.rel_dir.split("/")[0],
            "method": c.method,
            "pairing": c.pairing,
            "pair": c.pair,
            "seed": c.seed,
            "train_fraction": c.train_fraction,
            "state": self.state,
            "returncode": self.returncode,
            "log": f"{c.rel_dir}.sweep.log",
            "message": self.message,
        }
        if self.submit is not None:
            record["submit"] = self.submit
        return record


@dataclass
class Sweep:
    """The cells of one grid under one out root, with their states."""

    grid: Grid
    cells: list[Cell]
    out: Path
    executor: str = "local"
    statuses: dict[str, CellStatus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cell in self.cells:
            state = "skipped" if is_finished(cell.run_dir) else "pending"
            self.statuses[cell.rel_dir] = CellStatus(cell, state)
        self._carry_submissions()

    @property
    def status_path(self) -> Path:
        return self.out / STATUS_NAME

    @property
    def submitit_folder(self) -> Path:
        """slurm.folder (relative to the grid file) or <out>/.submitit."""
        if "folder" in self.grid.slurm:
            return self.grid.path.parent.resolve() / self.grid.slurm["folder"]
        return self.out / ".submitit"

    def _carry_submissions(self) -> None:
        """Keep the submit records of an earlier sweep (so accepted results are not submitted twice)."""
        try:
            previous = json.loads(self.status_path.read_text(encoding="utf-8"))
            records = {r["run_dir"]: r.get("submit") for r in previous.get("cells", [])}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            return
        for rel, status in self.statuses.items():
            if isinstance(records.get(rel), dict):
                status.submit = records[rel]

    def counts(self) -> dict[str, int]:
        counts = {state: 0 for state in STATES}
        for status in self.statuses.values():
            counts[status.state] += 1
        return counts

    def write_status(self) -> None:
        atomic_write_json(
            self.status_path,
            {
                "ackd_bench_version": __version__,
                "grid": str(self.grid.path),
                "executor": self.executor,
                "counts": self.counts(),
                "cells": [self.statuses[c.rel_dir].to_json() for c in self.cells],
            },
        )

    def to_run(self) -> list[Cell]:
        return [c for c in self.cells if self.statuses[c.rel_dir].state != "skipped"]

    def record(self, cell: Cell, returncode: int | None, error: str) -> CellStatus:
        """Store one finished attempt and rewrite the status file."""
        status = self.statuses[cell.rel_dir]
        status.returncode = returncode
        if returncode is None:
            status.state, status.message = "busy", "another process is running this cell"
        elif returncode == 0 and is_finished(cell.run_dir):
            status.state, status.message = "done", ""
        else:
            status.state = "failed"
            status.message = error or _last_line(cell.log_path) or f"exit code {returncode}"
            if returncode == 0 and not error:
                status.message = "exited 0 but wrote no valid result.json"
        self.write_status()
        return status


def describe(sweep: Sweep, slurm: bool = False) -> list[str]:
    """The --dry-run listing: one line per cell and its command."""
    lines = []
    if slurm:
        lines.append(f"submitit parameters: {submitit_parameters(sweep.grid.slurm)}")
    for cell in sweep.cells:
        state = sweep.statuses[cell.rel_dir].state
        lines.append(f"{'skip' if state == 'skipped' else 'run '} {cell.rel_dir}")
        if state != "skipped":
            lines.append(f"  $ {shlex.join(cell.command())}")
    counts = sweep.counts()
    lines.append(f"{len(sweep.cells)} cells: {counts['pending']} to run, {counts['skipped']} finished (skipped)")
    return lines


def run(sweep: Sweep, workers: int = 1, echo: Echo = print) -> None:
    """Run every unfinished cell with the sweep's executor, updating the status file as cells end."""
    todo = sweep.to_run()
    executor = make_submitit_executor(sweep.grid.slurm, sweep.submitit_folder) if sweep.executor == "slurm" else None
    sweep.write_status()
    echo(f"sweep: {len(sweep.cells)} cells, {len(sweep.cells) - len(todo)} finished (skipped), {len(todo)} to run")
    finished = 0

    def on_done(cell: Cell, returncode: int | None, error: str) -> None:
        nonlocal finished
        finished += 1
        status = sweep.record(cell, returncode, error)
        echo(f"[{finished}/{len(todo)}] {status.state:6s} {cell.rel_dir}")

    if not todo:
        return
    if executor is not None:
        run_slurm(executor, todo, on_done, echo)
    else:
        run_local(todo, workers, on_done)


def submit_finished(sweep: Sweep, echo: Echo = print, replace: bool = False) -> None:
    """`ackd-bench submit RUN_DIR --benchmark B [--replace]` for each finished cell not yet accepted with this
    result."""
    for cell in sweep.cells:
        status = sweep.statuses[cell.rel_dir]
        if status.state not in ("done", "skipped"):
            continue
        digest = sha256_file(cell.run_dir / "result.json")
        if status.submit and status.submit.get("state") == "accepted" and status.submit.get("result_sha256") == digest:
            continue
        argv = [sys.executable, "-m", "ackd_bench", "submit", str(cell.run_dir), "--benchmark", str(cell.benchmark)]
        argv += ["--replace"] if replace else []
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        output = f"$ {shlex.join(argv)}\n{proc.stdout}{proc.stderr}# exit code {proc.returncode}\n"
        atomic_write_text(cell.submit_log_path, output)
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        state = "accepted" if proc.returncode == 0 else "refused"
        message = "" if state == "accepted" else (lines[-1] if lines else f"exit code {proc.returncode}")
        status.submit = {
            "state": state,
            "result_sha256": digest,
            "message": message[:300],
            "log": f"{cell.rel_dir}.submit.log",
        }
        echo(f"submit {state:8s} {cell.rel_dir}" + (f": {message}" if message else ""))
    sweep.write_status()


def summary(sweep: Sweep) -> tuple[list[str], bool]:
    """Final report lines and whether the sweep is complete (every cell finished, no refused submission)."""
    counts = sweep.counts()
    lines = [
        f"sweep: {len(sweep.cells)} cells: {counts['done']} done, {counts['skipped']} skipped (finished before), "
        f"{counts['failed']} failed, {counts['busy']} busy, {counts['pending']} not run; status: {sweep.status_path}"
    ]
    ok = counts["done"] + counts["skipped"] == len(sweep.cells)
    for cell in sweep.cells:
        status = sweep.statuses[cell.rel_dir]
        if status.state == "failed":
            lines.append(f"FAILED {cell.rel_dir} (exit {status.returncode}): {status.message}; log: {cell.log_path}")
        elif status.state == "busy":
            lines.append(f"BUSY   {cell.rel_dir}: another process holds {cell.lock_path}")
        if status.submit and status.submit.get("state") == "refused":
            ok = False
            lines.append(f"REFUSED {cell.rel_dir}: {status.submit['message']}; log: {cell.submit_log_path}")
    return lines, ok
