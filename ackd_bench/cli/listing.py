"""`ackd-bench list`: what is registered (methods, archs, pairs, presets, sources, band sets)."""

from __future__ import annotations

from pathlib import Path

import click


def _safe_names(loader) -> list[str]:
    try:
        return loader()
    except ImportError:
        return []


@click.command("list")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Download folder to check datasets against (default $ACKD_BENCH_DATA or ./data).",
)
def list_cmd(data_dir) -> None:
    """Show registered methods, architectures, pairs, presets, sources, band sets and datasets."""
    from ackd_bench.cli.download import dataset_lines
    from ackd_bench.data.bands import BAND_SETS
    from ackd_bench.data.downloads import default_data_dir

    sections: dict[str, list[str]] = {}

    def methods() -> list[str]:
        from ackd_bench.methods import METHODS

        return METHODS.names()

    def archs() -> list[str]:
        from ackd_bench.models import MODELS

        return MODELS.names()

    def pairs() -> list[str]:
        from ackd_bench.models import PAIRS

        return [f"{k} ({t} -> {s})" for k, (t, s) in PAIRS.items()]

    def presets() -> list[str]:
        from ackd_bench.data.presets import PRESETS

        return sorted(PRESETS)

    def sources() -> list[str]:
        from ackd_bench.data.sources import SOURCES

        return SOURCES.names()

    sections["methods (X+sembridge for any X but student; sembridge = kd+sembridge)"] = _safe_names(methods)
    sections["architectures"] = _safe_names(archs)
    sections["pairs"] = _safe_names(pairs)
    sections["presets"] = _safe_names(presets)
    sections["sources"] = _safe_names(sources)
    sections["band sets"] = [f"{k}: {' '.join(v)}" for k, v in BAND_SETS.items()]
    data_dir = data_dir or default_data_dir()
    sections[f"datasets (ackd-bench download NAME; present in {data_dir}?)"] = dataset_lines(data_dir)
    for title, names in sections.items():
        click.echo(f"{title}:")
        for name in names:
            click.echo(f"  {name}")


COMMANDS = [list_cmd]
