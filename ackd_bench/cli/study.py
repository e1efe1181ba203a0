"""`ackd-bench study asymmetry`: the controlled asymmetry study (docs/study.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ackd_bench.errors import ConfigError


def _floats(text: str, opt: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{opt} expects a comma list of numbers, got {text!r}") from None


def _ints(text: str, opt: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"{opt} expects a comma list of integers, got {text!r}") from None


@click.group("study")
def study_group() -> None:
    """Controlled studies on synthetic benchmark families."""


@study_group.command("asymmetry")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Study folder: README.md (report), results.csv, runs.csv, summary.md, plots/.",
)
@click.option(
    "--work",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Benchmarks, grids and run folders (default OUT/work).",
)
@click.option(
    "--submissions",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Submissions folder the runs go to and are read back from (default OUT/submissions; "
    "leaderboard/submissions puts the study on the leaderboard).",
)
@click.option("--levels", default="1.0,0.5,0.0", show_default=True, help="Consistency levels (comma list).")
@click.option("--methods", default="student,kd,sembridge", show_default=True, help="Methods (comma list).")
@click.option("--pair", default="S-S", show_default=True, help="Teacher-student pair.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Student seeds (comma list).")
@click.option("--steps", default=150, show_default=True, type=int, help="Student budget in optimiser steps (batch 32).")
@click.option("--teacher-steps", default=300, show_default=True, type=int, help="Teacher budget in optimiser steps.")
@click.option("--epochs", default=None, type=int, help="Student epochs (overrides --steps).")
@click.option(
    "--classes",
    default="Water,Forest,Crops,Grass",
    show_default=True,
    help="Synthetic classes (comma list) or a count.",
)
@click.option("--size", default=32, show_default=True, type=int, help="Image size in pixels.")
@click.option(
    "--per-class",
    default=None,
    type=int,
    help="Images per class and pool (default: sized so a 2-point OA difference is resolvable, docs/study.md).",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1), help="Concurrent runs.")
@click.option("--quiet", is_flag=True, help="Only the final lines.")
def asymmetry_cmd(
    out,
    work,
    submissions,
    levels,
    methods,
    pair,
    seeds,
    steps,
    teacher_steps,
    epochs,
    classes,
    size,
    per_class,
    workers,
    quiet,
):
    """OA, transport costs and asymmetry penalty vs semantic consistency (synthetic, controlled)."""
    from ackd_bench.study.asymmetry import run_asymmetry
    from ackd_bench.study.spec import StudySpec

    spec = StudySpec(
        levels=_floats(levels, "--levels"),
        methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
        pair=pair,
        seeds=_ints(seeds, "--seeds"),
        steps=steps,
        teacher_steps=teacher_steps,
        epochs=epochs,
        classes=classes,
        size=size,
        per_class=per_class,
    )
    lines = run_asymmetry(
        spec,
        out,
        work=work,
        submissions=submissions,
        workers=workers,
        echo=(lambda _line: None) if quiet else click.echo,
    )
    for line in lines:
        click.echo(line)


COMMANDS = [study_group]
