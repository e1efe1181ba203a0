"""`ackd-bench sweep GRID.yaml`: run a grid of cells locally or on SLURM (see docs/scale.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("sweep")
@click.argument("grid_file", metavar="GRID.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--executor",
    type=click.Choice(["local", "slurm"]),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; slurm: a submitit job array (grid's slurm: section).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Concurrent runs for --executor local."
)
@click.option("--submit", "do_submit", is_flag=True, help="Send every finished run through `ackd-bench submit`.")
@click.option(
    "--replace",
    is_flag=True,
    help="With --submit: replace an earlier submission of the same run (`ackd-bench submit --replace`).",
)
@click.option("--dry-run", is_flag=True, help="Print the cells and their commands; run nothing, write nothing.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output root (overrides the grid's `out`).",
)
def sweep_cmd(
    grid_file: Path, executor: str, workers: int, do_submit: bool, replace: bool, dry_run: bool, out: Path | None
) -> None:
    """Expand GRID.yaml into cells and run the unfinished ones (finished cells are skipped)."""
    from ackd_bench.sweep import Sweep, check_names, expand, left_out, load_grid, out_root
    from ackd_bench.sweep.runner import describe, run, submit_finished, summary

    grid = load_grid(grid_file)
    check_names(grid)
    cells = expand(grid, out)
    for method, pairing, why in left_out(grid):
        click.echo(f"left out: {method} with pairing {pairing} ({why})")
    sweep = Sweep(grid, cells, out_root(grid, out), executor)
    if dry_run:
        for line in describe(sweep, slurm=executor == "slurm"):
            click.echo(line)
        return
    run(sweep, workers=workers, echo=click.echo)
    if do_submit:
        submit_finished(sweep, echo=click.echo, replace=replace)
    lines, ok = summary(sweep)
    for line in lines:
        click.echo(line, err=not ok and line.startswith(("FAILED", "BUSY", "REFUSED")))
    if not ok:
        sys.exit(1)


COMMANDS = [sweep_cmd]
