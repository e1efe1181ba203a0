"""CLI: `download NAME --to DIR` (thin layer over ackd_bench.data.downloads)."""

from __future__ import annotations

from pathlib import Path

import click

from ackd_bench.errors import ConfigError


def dataset_lines(data_dir: Path) -> list[str]:
    """One line per registered dataset: name, size, present or not, licence (for `ackd-bench list`)."""
    from ackd_bench.data.downloads import DOWNLOADS, describe, get_entry

    lines = []
    for name in DOWNLOADS.names():
        d = describe(get_entry(name), data_dir)
        how = "fetch by hand + --from" if not d["urls"] else "direct"
        lines.append(
            f"{name:15s} {d['size']:>9s}  {'present' if d['present'] else 'missing':7s}  {how:22s}  {d['licence']}"
        )
    return lines


@click.command("download")
@click.argument("name")
@click.option(
    "--to",
    "to",
    type=click.Path(path_type=Path),
    default=None,
    help="Download folder (default $ACKD_BENCH_DATA or ./data); the dataset lands in DIR/NAME.",
)
@click.option(
    "--from",
    "from_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Verify and extract an archive fetched by hand instead of downloading.",
)
@click.option(
    "--sha256", "sha256", default=None, help="Expected sha256 of the archive (overrides the entry's checksum)."
)
@click.option(
    "--unverified", is_flag=True, help="With --from on an entry with no published checksum: accept the file unverified."
)
@click.option("--keep-archive", is_flag=True, help="Keep the downloaded archive in DIR/.downloads/.")
@click.option("--retries", default=2, show_default=True, type=click.IntRange(0, 10), help="Retries per URL.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def download_cmd(name, to, from_file, sha256, unverified, keep_archive, retries, quiet):
    """Download, verify (checksum before extraction) and extract dataset NAME (see `ackd-bench list`)."""
    from ackd_bench.data.downloads import default_data_dir, install

    if unverified and from_file is None:
        raise ConfigError("--unverified only applies to --from FILE")
    to = to or default_data_dir()
    rec = install(
        name,
        to,
        from_file=from_file,
        expect=f"sha256:{sha256.lower()}" if sha256 else None,
        unverified=unverified,
        keep_archive=keep_archive,
        retries=retries,
        quiet=quiet,
    )
    state = "verified" if rec["verified"] else "UNVERIFIED (no checksum)"
    click.echo(
        f"{name}: {Path(to) / name} ({rec['members']} archive members, sha256 {rec['sha256'][:16]}..., {state}); "
        f"build with source {rec['source']!r}"
    )


COMMANDS = [download_cmd]
