"""`ackd-bench list`: what is registered (methods, archs, pairs, presets, sources, band sets)."""

from __future__ import annotations

import click


def _safe_names(loader) -> list[str]:
    try:
        return loader()
    except ImportError:
        return []


@click.command("list")
def list_cmd() -> None:
    """Show registered methods, architectures, pairs, presets, sources and band sets."""
    from ackd_bench.data.bands import BAND_SETS

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
    for title, names in sections.items():
        click.echo(f"{title}:")
        for name in names:
            click.echo(f"  {name}")


COMMANDS = [list_cmd]
