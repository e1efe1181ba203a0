"""The `ackd-bench` command: a thin click layer over the library.

Each area keeps its commands in its own module (data.py, train.py, report.py); this file only assembles
the group, the `list` command and the error handling (AckdError -> one line on stderr, exit code 2).
"""

from __future__ import annotations

import sys

import click

from ackd_bench import __version__
from ackd_bench.errors import AckdError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AckdError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ackd-bench")
def cli() -> None:
    """ackd-bench: curate MS/RGB benchmarks, run ACKD methods, build leaderboards."""


def _register_commands() -> None:
    from ackd_bench.cli import data, download, listing, matcher, report, study, sweep, train

    for module in (data, download, listing, train, matcher, report, sweep, study):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def main() -> None:
    cli(prog_name="ackd-bench")
