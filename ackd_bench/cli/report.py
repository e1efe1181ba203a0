"""CLI: `ackd-bench cost`, `ackd-bench submit`, `ackd-bench leaderboard` (thin wrappers over ackd_bench.report)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("cost")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False), help="Run folder.")
@click.option("--split", default="train", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--method", default="exact", show_default=True, type=click.Choice(["exact", "sinkhorn"]))
@click.option("--n-max", default=500, show_default=True, type=click.IntRange(min=1),
              help="Seeded subsample size per class and side.")
@click.option("--reg", default=0.05, show_default=True, type=float, help="Sinkhorn reg on the cost divided by 4.")
@click.option("--seed", default=0, show_default=True, type=int, help="Subsampling seed.")
@click.option("--benchmark", default=None, type=click.Path(exists=True, file_okay=False),
              help="Benchmark folder (default: the run's config.benchmark), e.g. after moving it.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda"]),
              help="Device for re-embedding the pools.")
def cost_cmd(run_dir: str, split: str, method: str, n_max: int, reg: float, seed: int, benchmark: str | None,
             device: str) -> None:
    """Wasserstein-2 transport cost of a run (per class, and under SCKD pairs) into RUN_DIR/cost.json."""
    from ackd_bench.report.cost import run_cost

    result = run_cost(run_dir, split=split, method=method, n_max=n_max, reg=reg, seed=seed, benchmark=benchmark,
                      device=device)
    sckd = result.get("sckd") or {}
    click.echo(f"W2 ({method}) mean over classes: {result['mean']:.6f}"
               + (f"; under SCKD pairs: {sckd['mean']:.6f}" if sckd.get("mean") is not None else ""))
    click.echo(str(Path(run_dir) / "cost.json"))


@click.command("submit")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--to", "to", default="leaderboard/submissions", show_default=True, type=click.Path(file_okay=False))
@click.option("--benchmark", default=None, type=click.Path(exists=True, file_okay=False),
              help="Benchmark build to check against (a local leaderboard); default: shipped cards + config.benchmark.")
@click.option("--replace", is_flag=True, help="Overwrite an existing record with the same key.")
@click.option("--variant", default=None, help="Name of the run's configuration on the leaderboard (default: derived "
              "from its difference to the profile's defaults, e.g. 'fast: sembridge.coral_scale=official').")
def submit_cmd(run_dir: str, to: str, benchmark: str | None, replace: bool, variant: str | None) -> None:
    """Validate RUN_DIR's result and store it under the submissions folder (one cell per configuration)."""
    from ackd_bench.report.submit import submit

    click.echo(str(submit(run_dir, to, benchmark=benchmark, replace=replace, variant=variant)))


@click.command("leaderboard")
@click.option("--submissions", default="leaderboard/submissions", show_default=True, type=click.Path(file_okay=False))
@click.option("--out", default="leaderboard", show_default=True, type=click.Path(file_okay=False))
def leaderboard_cmd(submissions: str, out: str) -> None:
    """Build README.md, leaderboard.csv, submissions.parquet, index.html and plots/ from the submissions."""
    from ackd_bench.report.leaderboard import build

    tables = build(submissions, out, check=True)  # folder checked and read under the submissions lock
    click.echo(f"{len(tables['runs'])} runs, {len(tables['cells'])} cells -> {out}")


COMMANDS: list = [cost_cmd, submit_cmd, leaderboard_cmd]
