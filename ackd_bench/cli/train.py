"""`ackd-bench train-teacher` and `ackd-bench run`: thin wrappers over ackd_bench.engine."""

from __future__ import annotations

from pathlib import Path

import click

from ackd_bench.config import CHOICES, PAIRINGS

_PROFILE = click.Choice(["paper", "fast", "official"])
_DEVICE = click.Choice(CHOICES["device"])


def _val_text(info: dict) -> str:
    if info.get("val_map_best") is not None:
        return f"val mAP {info['val_map_best']:.4f}"
    return f"val OA {info['val_oa_best']:.4f}"


def _teacher_score(metrics: dict) -> str:
    """The teacher's test score in a run record: OA, or mAP for a multi-label teacher."""
    if metrics.get("teacher_test_oa") is not None:
        return f"OA {metrics['teacher_test_oa']:.4f}"
    ml = metrics.get("teacher_test_multilabel")
    return f"mAP {ml['map']:.4f} (multi-label)" if ml else "n/a"


def _teacher_arch(arch: str) -> str:
    """A pair (R-R, resnet34:resnet18) names its teacher; anything else is a model name."""
    from ackd_bench.models import PAIRS, resolve_pair

    if arch in PAIRS or ":" in arch:
        return resolve_pair(arch)[0]
    return arch


@click.command("train-teacher")
@click.option("--benchmark", required=True, type=click.Path(path_type=Path), help="Benchmark folder.")
@click.option("--arch", required=True, help="Teacher architecture, or a pair (R-R, R-S, ...) whose teacher to train.")
@click.option("--seed", type=int, default=None, help="Teacher seed (config teacher.seed, default 0).")
@click.option(
    "--epochs", type=int, default=None, help="Teacher epochs (overrides the profile's step budget, docs/running.md)."
)
@click.option(
    "--profile",
    type=_PROFILE,
    default=None,
    help="paper (default), fast or official (the official ACKD protocol, docs/fidelity.md).",
)
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None, help="YAML config overrides.")
@click.option("--bands", default=None, help="Band set name or comma list (default: the card's teacher_bands).")
@click.option("--ms-norm", type=click.Choice(["mean_std", "per_image_max"]), default=None)
@click.option("--device", type=_DEVICE, default=None, help="auto (default), cpu or cuda.")
@click.option("--force", is_flag=True, help="Retrain even when the cache holds this teacher.")
@click.option("--quiet", is_flag=True, help="No per-epoch lines.")
def train_teacher_cmd(benchmark, arch, seed, epochs, profile, config_file, bands, ms_norm, device, force, quiet):
    """Train (or reuse from the cache) the MS teacher on the teacher pool; print its cache entry and accuracy."""
    from ackd_bench.config import resolve_config
    from ackd_bench.data.bands import resolve_band_set
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.engine.teacher import get_teacher, teacher_summary
    from ackd_bench.runtime import distributed
    from ackd_bench.runtime.device import resolve_device

    overrides = {
        "benchmark": str(benchmark),
        "device": device,
        "ms_norm": ms_norm,
        "bands": list(resolve_band_set(bands)) if bands else None,
        "teacher": {"arch": _teacher_arch(arch), "seed": seed, "epochs": epochs},
    }
    cfg = resolve_config(profile, config_file, overrides)
    bench = Benchmark.open(benchmark)
    # under torchrun rank 0 trains (single process) while the other ranks wait, then read the cache entry
    with distributed.session(cfg["device"]):
        with distributed.main_first():
            record = get_teacher(
                bench, cfg, resolve_device(cfg["device"]), quiet=quiet, force=force and distributed.is_main()
            )
        main = distributed.is_main()
    if not main:
        return
    info = record.info
    click.echo(
        f"teacher {info['arch']} ({'trained' if record.trained else 'cached'}) on {len(info['bands'])} bands "
        f"{','.join(info['bands'])}: {_val_text(info)} (epoch {info['best_val_epoch']}), {teacher_summary(info)}"
    )
    click.echo(f"checkpoint: {record.checkpoint}")


def _teacher_seed(text: str | None) -> int | str | None:
    """`--teacher-seed 3` -> 3, `follow` -> "follow" (anything else: config validation names it)."""
    if text is None or text == "follow":
        return text
    try:
        return int(text)
    except ValueError:
        return text


@click.command("run")
@click.option("--benchmark", required=True, type=click.Path(path_type=Path), help="Benchmark folder.")
@click.option(
    "--method", required=True, help="Method name (kd, dkd, ..., X+sembridge, sembridge); see `ackd-bench list`."
)
@click.option("--arch", "pair", required=True, help="Pair: R-R, M-M, S-S, R-M, R-S, M-S or teacher:student.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Run folder to write (RUN_DIR).")
@click.option(
    "--pairing",
    type=click.Choice(PAIRINGS),
    default=None,
    help="Partner protocol: random (redrawn each epoch), random-fixed (one draw per run), oracle (SCKD "
    "pairs), ssm/ssm-free (SemBridge's matcher). Default: ssm for +sembridge methods, else random; "
    "with --no-ssm, random or random-fixed (default random).",
)
@click.option("--seed", type=int, default=None, help="Student seed (default 0).")
@click.option(
    "--epochs", type=int, default=None, help="Student epochs (overrides the profile's step budget, docs/running.md)."
)
@click.option(
    "--profile",
    type=_PROFILE,
    default=None,
    help="paper (default), fast or official (the official ACKD protocol, docs/fidelity.md).",
)
@click.option("--device", type=_DEVICE, default=None, help="auto (default), cpu or cuda.")
@click.option("--config", "config_file", type=click.Path(path_type=Path), default=None, help="YAML config overrides.")
@click.option("--resume", is_flag=True, help="Continue RUN_DIR from checkpoints/last.pt (starts fresh when absent).")
@click.option("--cost-every", type=int, default=None, help="Log transport costs every K epochs (0 = never).")
@click.option(
    "--teacher-seed",
    default=None,
    help="Teacher seed: an integer (default 0, one teacher shared by all student seeds) or 'follow' (the "
    "run's seed: seed spreads then include teacher variance).",
)
@click.option(
    "--no-ssm",
    is_flag=True,
    default=None,
    help="SemBridge ablation: no matcher; pairs by --pairing random or random-fixed, as the baseline does.",
)
@click.option("--no-dynm", is_flag=True, default=None, help="SemBridge ablation: no Dynamic Matching.")
@click.option("--no-ot1", is_flag=True, default=None, help="SemBridge ablation: no token alignment loss.")
@click.option("--no-ot2", is_flag=True, default=None, help="SemBridge ablation: no embedding alignment loss.")
@click.option("--dynm-epochs", default=None, help="Explicit DynM epochs, e.g. 3,7 (0-based).")
@click.option(
    "--train-fraction",
    type=float,
    default=None,
    help="Train the student on this fraction of its train split (one built with build-dataset --train-fractions).",
)
@click.option("--quiet", is_flag=True, help="No progress bar or messages.")
def run_cmd(
    benchmark,
    method,
    pair,
    out,
    pairing,
    seed,
    epochs,
    profile,
    device,
    config_file,
    resume,
    cost_every,
    teacher_seed,
    no_ssm,
    no_dynm,
    no_ot1,
    no_ot2,
    dynm_epochs,
    train_fraction,
    quiet,
):
    """Train one student run (teacher and teacher outputs come from the cache) and write RUN_DIR."""
    from ackd_bench.config import parse_epoch_list, resolve_config
    from ackd_bench.engine.run import run_experiment
    from ackd_bench.runtime import distributed

    sembridge = {
        "no_ssm": no_ssm or None,
        "no_dynm": no_dynm or None,
        "no_ot1": no_ot1 or None,
        "no_ot2": no_ot2 or None,
        "dynm_epochs": parse_epoch_list(dynm_epochs),
    }
    overrides = {
        "benchmark": str(benchmark),
        "method": method,
        "pair": pair,
        "pairing": pairing,
        "seed": seed,
        "epochs": epochs,
        "device": device,
        "cost_every": cost_every,
        "sembridge": sembridge,
        "train_fraction": train_fraction,
        "teacher": {"seed": _teacher_seed(teacher_seed)},
    }
    cfg = resolve_config(profile, config_file, overrides)
    # under `torchrun --nproc_per_node N` this joins the process group (DDP, docs/scale.md); no-op otherwise
    with distributed.session(cfg["device"]):
        result = run_experiment(cfg, out, resume=resume, quiet=quiet)
        main = distributed.is_main()
    if not main:
        return
    m = result["metrics"]
    click.echo(
        f"{out}: test OA {m['test_oa_best_val']:.4f} (best val epoch {m['best_val_epoch']}), "
        f"last {m['test_oa_last']:.4f}, teacher {_teacher_score(m)}"
    )


COMMANDS = [train_teacher_cmd, run_cmd]
