"""`ackd-bench train-matcher`: train (or reuse from the cache) SemBridge's self-supervised matcher."""

from __future__ import annotations

from pathlib import Path

import click

from ackd_bench.config import CHOICES


@click.command("train-matcher")
@click.option("--benchmark", required=True, type=click.Path(path_type=Path), help="Benchmark folder.")
@click.option(
    "--arch", default=None, help="Tower backbone: resnet34 (paper, default), resnet18, shufflenetv2_x0_5, tiny."
)
@click.option("--epochs", type=int, default=None, help="Matcher epochs (default 100).")
@click.option("--seed", type=int, default=None, help="Matcher seed (default 42).")
@click.option("--batch-size", type=int, default=None, help="Contrastive batch size (default 64).")
@click.option(
    "--loss",
    type=click.Choice(["infonce", "clip_soft"]),
    default=None,
    help="infonce (default) or the official soft-target CLIP loss.",
)
@click.option("--bands", default=None, help="Band set name or comma list (default: the card's teacher_bands).")
@click.option("--ms-norm", type=click.Choice(["mean_std", "per_image_max"]), default=None)
@click.option("--device", type=click.Choice(CHOICES["device"]), default="auto", help="auto, cpu or cuda.")
def train_matcher_cmd(benchmark, arch, epochs, seed, batch_size, loss, bands, ms_norm, device):
    """Train the MS/pseudo-RGB matcher on the teacher TRAIN pool; print its cache entry and val loss."""
    from ackd_bench.config import DEFAULTS
    from ackd_bench.data.bands import resolve_band_set
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.cache import cache_root
    from ackd_bench.engine.seed import set_deterministic
    from ackd_bench.methods.sembridge.matcher import train_matcher
    from ackd_bench.runtime.device import resolve_device

    given = {"arch": arch, "epochs": epochs, "seed": seed, "batch_size": batch_size, "loss": loss, "norm": ms_norm}
    cfg = {k: v for k, v in given.items() if v is not None}
    bench = Benchmark.open(benchmark)
    dev = resolve_device(device)
    set_deterministic(DEFAULTS["deterministic"], dev)  # as `run` does: the run then finds this cache entry
    info = train_matcher(bench, cfg, dev, cache_root(), bands=resolve_band_set(bands) if bands else None)
    click.echo(
        f"matcher {info.arch} ({'cached' if info.cached else 'trained'}) on {len(info.bands)} bands "
        f"{','.join(info.bands)}: val loss {info.val_loss:.4f} (epoch {info.best_epoch})"
    )
    click.echo(f"checkpoint: {info.path}")
    click.echo(f"sha256: {info.sha256}")


COMMANDS: list = [train_matcher_cmd]
