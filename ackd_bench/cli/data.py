"""CLI: `build-dataset` and `verify` (thin layer over ackd_bench.data.build / verify)."""

from __future__ import annotations

from pathlib import Path

import click

from ackd_bench.errors import ConfigError


def _parse_pool(text: str, opt: str) -> tuple[str, str]:
    if ":" not in text:
        raise ConfigError(f"{opt} expects SOURCE:PATH, got {text!r}")
    source, root = text.split(":", 1)
    return source, root


def _parse_options(items: tuple[str, ...], opt: str) -> dict:
    import yaml

    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{opt} expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value) if value else None
    return out


def _parse_fractions(text: str | None) -> tuple[float, ...] | None:
    from ackd_bench.data.splits import check_train_fractions

    if text is None:
        return None
    return check_train_fractions([t for t in text.split(",") if t.strip()])


@click.command("build-dataset")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Benchmark folder to create.")
@click.option("--preset", default=None, help="Named recipe (default eurosat-sample; see `ackd-bench list`).")
@click.option("--teacher", default=None, help="Teacher pool as SOURCE:PATH (e.g. eurosat-ms:/data/EuroSAT_MS).")
@click.option("--student", default=None, help="Student pool as SOURCE:PATH (e.g. imagefolder-rgb:/data/UCMerced).")
@click.option("--teacher-option", multiple=True, help="Teacher source option key=value (repeatable).")
@click.option("--student-option", multiple=True, help="Student source option key=value (repeatable).")
@click.option(
    "--class-map", default=None, type=click.Path(path_type=Path), help="YAML 'source class: benchmark class'."
)
@click.option("--bands", default=None, help="Default teacher band set (s2_10, all13, paper10 or a comma list).")
@click.option("--size", default=None, type=int, help="Student image size in pixels.")
@click.option(
    "--split-by",
    type=click.Choice(["region", "random", "paired", "sources"]),
    default=None,
    help="Pool split for shared tiles (sources: keep each pool as its source gives it).",
)
@click.option("--seed", default=None, type=int, help="Split seed (default 0).")
@click.option("--name", default=None, help="Benchmark name (default: preset name or 'custom').")
@click.option(
    "--train-fractions",
    default=None,
    help="Nested class-stratified student train subsets for label-efficiency runs, e.g. 0.01,0.05,0.1,0.25,0.5,1.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --out.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where presets find downloaded datasets (default $ACKD_BENCH_DATA or ./data).",
)
@click.option("--download", is_flag=True, help="Fetch the preset's missing datasets first (ackd-bench download).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def build_dataset_cmd(
    out,
    preset,
    teacher,
    student,
    teacher_option,
    student_option,
    class_map,
    bands,
    size,
    split_by,
    seed,
    name,
    train_fractions,
    overwrite,
    data_dir,
    download,
    quiet,
):
    """Build a benchmark folder (manifests, splits, stats, packed arrays) from a preset or two sources."""
    from ackd_bench.data.build import build_dataset
    from ackd_bench.data.presets import spec_from_options

    spec = spec_from_options(
        preset=preset,
        teacher=_parse_pool(teacher, "--teacher") if teacher else None,
        student=_parse_pool(student, "--student") if student else None,
        teacher_options=_parse_options(teacher_option, "--teacher-option"),
        student_options=_parse_options(student_option, "--student-option"),
        class_map=str(class_map) if class_map else None,
        bands=bands,
        size=size,
        split_by=split_by,
        seed=seed,
        name=name,
        data_dir=data_dir,
        download=download,
        quiet=quiet,
        train_fractions=_parse_fractions(train_fractions),
    )
    card = build_dataset(spec, out, overwrite=overwrite, quiet=quiet)
    n = {p: sum(sum(c.values()) for c in card["counts"][p].values()) for p in ("teacher", "student")}
    if not quiet:
        click.echo(
            f"built {card['name']} in {out}: {len(card['classes'])} classes, {n['teacher']} teacher, {n['student']} student images"
        )


@click.command("verify")
@click.argument("bench_dir", type=click.Path(path_type=Path))
def verify_cmd(bench_dir):
    """Recompute every checksum of a benchmark folder; exit non-zero naming changed or missing files."""
    from ackd_bench.data.verify import verify_benchmark
    from ackd_bench.errors import DataError

    problems = verify_benchmark(bench_dir)
    if problems:
        for p in problems[:50]:
            click.echo(f"  {p}", err=True)
        raise DataError(f"{len(problems)} problem(s): {problems[0]}", bench_dir)
    click.echo(f"{bench_dir}: all checksums match")


COMMANDS = [build_dataset_cmd, verify_cmd]
