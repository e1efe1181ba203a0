"""`ackd-bench run` as the tests call it: CPU-sized (`--device cpu`, few epochs), S-S and `--profile fast` by default.

A plain module (not a fixture) so module-scoped fixtures can use it too; the tiny `--config` is the
`tiny_cfg` fixture's file (conftest.py), passed in as `config`.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from ackd_bench.cli import cli


def run_args(
    bench: Path,
    method: str,
    out: Path,
    *extra: str,
    config: Path | None = None,
    epochs: int | None = 1,
    arch: str = "S-S",
    profile: str = "fast",
    quiet: bool = True,
) -> list[str]:
    """The `run` command line; `extra` options go last. `epochs=None` leaves --epochs to the profile."""
    args = ["run", "--benchmark", str(bench), "--method", method, "--arch", arch, "--profile", profile]
    args += ["--device", "cpu", "--out", str(out)]
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    if config is not None:
        args += ["--config", str(config)]
    if quiet:
        args.append("--quiet")
    return [*args, *extra]


def invoke_run(bench: Path, method: str, out: Path, *extra: str, ok: bool = True, **options) -> Result:
    """Run it in-process. ok=True: exceptions propagate and the exit code must be 0; ok=False: the caller
    checks the result (an error exit)."""
    res = CliRunner().invoke(cli, run_args(bench, method, out, *extra, **options), catch_exceptions=not ok)
    if ok:
        assert res.exit_code == 0, res.output
    return res
