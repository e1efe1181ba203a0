"""CLI: `ackd-bench cost`, `ackd-bench submit`, `ackd-bench leaderboard` (thin wrappers over ackd_bench.report)."""

from __future__ import annotations

from pathlib import Path

import click

from ackd_bench.config import CHOICES


@click.command("cost")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False), help="Run folder.")
@click.option("--split", default="train", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--method", default="exact", show_default=True, type=click.Choice(["exact", "sinkhorn"]))
@click.option(
    "--n-max",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seeded subsample size per class and side.",
)
@click.option(
    "--reg",
    default=0.05,
    show_default=True,
    type=float,
    help="Sinkhorn reg on the cost divided by its largest possible value.",
)
@click.option(
    "--temperature",
    default=None,
    type=click.FloatRange(min=0, min_open=True),
    help="Softmax temperature of the probability-space costs [default: the kd baseline's T = 3].",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Subsampling seed.")
@click.option(
    "--benchmark",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="Benchmark folder (default: the run's config.benchmark), e.g. after moving it.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    type=click.Choice(CHOICES["device"]),
    help="Device for re-embedding the pools.",
)
def cost_cmd(
    run_dir: str,
    split: str,
    method: str,
    n_max: int,
    reg: float,
    temperature: float | None,
    seed: int,
    benchmark: str | None,
    device: str,
) -> None:
    """Transport costs of a run (W2 of class probabilities, Gromov-Wasserstein of embeddings, pair-level cost;
    per class and under SCKD pairs) into RUN_DIR/cost.json. One line per side on stdout, then the file."""
    from ackd_bench.report.cost import run_cost
    from ackd_bench.transport import DEFAULT_TEMPERATURE

    result = run_cost(
        run_dir,
        split=split,
        method=method,
        n_max=n_max,
        reg=reg,
        seed=seed,
        benchmark=benchmark,
        device=device,
        temperature=temperature or DEFAULT_TEMPERATURE,
    )
    click.echo(f"{method}, means over classes: " + _costs_line(result))
    if result.get("sckd"):
        click.echo("under SCKD pairs: " + _costs_line(result["sckd"]))
    click.echo(str(Path(run_dir) / "cost.json"))


def _costs_line(t: dict) -> str:
    return "; ".join(
        f"{k} {t[k]:.6f}" if t.get(k) is not None else f"{k} n/a"
        for k in ("w2_prob", "gw", "pair_cost", "w2_embed_diag")
    )


@click.command("submit")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--to", "to", default="leaderboard/submissions", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--benchmark",
    default=None,
    type=click.Path(exists=True, file_okay=False),
    help="Benchmark build to check against (a local leaderboard); default: shipped cards + config.benchmark.",
)
@click.option("--replace", is_flag=True, help="Overwrite an existing record with the same key.")
@click.option(
    "--variant",
    default=None,
    help="Name of the run's configuration on the leaderboard (default: derived "
    "from its difference to the profile's defaults, e.g. 'fast: sembridge.coral_scale=official').",
)
def submit_cmd(run_dir: str, to: str, benchmark: str | None, replace: bool, variant: str | None) -> None:
    """Validate RUN_DIR's result and store it under the submissions folder (one cell per configuration)."""
    from ackd_bench.report.submit import submit

    click.echo(str(submit(run_dir, to, benchmark=benchmark, replace=replace, variant=variant)))


@click.command("leaderboard")
@click.option("--submissions", default="leaderboard/submissions", show_default=True, type=click.Path(file_okay=False))
@click.option("--out", default="leaderboard", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--release",
    default=None,
    metavar="vX.Y",
    help="Also write the immutable snapshot OUT/releases/vX.Y/ (tables, CSV, normaliser, submission hashes).",
)
def leaderboard_cmd(submissions: str, out: str, release: str | None) -> None:
    """Build README.md, the CSV tables, submissions.parquet, index.html and plots/ from the submissions."""
    from ackd_bench.report.leaderboard import build

    tables = build(submissions, out, check=True, release=release)  # checked and read under the submissions lock
    click.echo(f"{len(tables['runs'])} runs, {len(tables['cells'])} cells -> {out}")


COMMANDS: list = [cost_cmd, submit_cmd, leaderboard_cmd]
