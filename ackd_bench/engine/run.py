"""`ackd-bench run`: teacher (cached) -> teacher outputs (cached) -> pairing -> student loop -> run folder.

RUN_DIR layout and result.json keys follow docs/ARCHITECTURE.md §5. Epochs are 0-based everywhere
(metrics.jsonl "epoch", best_val_epoch, pairings/epoch_NNN, rematch epochs).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import yaml
from tqdm import tqdm

from ackd_bench import __version__
from ackd_bench.config import dump_yaml
from ackd_bench.engine.cache import cache_root
from ackd_bench.engine.checkpoint import load_checkpoint, save_checkpoint
from ackd_bench.engine.context import PoolTensors, RunContext
from ackd_bench.engine.device import prepare_model, resolve_device
from ackd_bench.engine.loops import forward_all, make_optimizer, make_scheduler
from ackd_bench.engine.metrics import MetricsLog, macro_f1, overall_accuracy, per_class_accuracy
from ackd_bench.engine.pairing import Pairer
from ackd_bench.engine.pools import load_pool
from ackd_bench.engine.seed import generator, rng_state, seed_everything, set_deterministic, set_rng_state
from ackd_bench.engine.teacher import get_teacher, load_teacher
from ackd_bench.engine.teacher_outputs import CachedTeacher, LiveTeacher, teacher_outputs
from ackd_bench.engine.timer import timed
from ackd_bench.engine.trainer import predict_logits, train_epoch
from ackd_bench.errors import ConfigError
from ackd_bench.io import atomic_path, atomic_write_json, atomic_write_text, read_json

# Keys that may differ between the saved config.yaml and a `--resume` invocation.
RESUMABLE_CHANGES = ("epochs", "device")
# Accumulated over every invocation of a resumed run (stored in last.pt).
_CARRIED_TIMINGS = ("distill", "rematch", "transport", "train_images", "train_seconds")


def is_sembridge(method: str) -> bool:
    return method == "sembridge" or method.endswith("+sembridge")


def finalize_config(cfg: dict, bench) -> dict:
    """Fill what depends on the benchmark and the method: archs from the pair, bands, pairing default."""
    from ackd_bench.models import resolve_pair

    if not cfg.get("method"):
        raise ConfigError("--method is required")
    if not cfg.get("pair"):
        raise ConfigError("--arch is required (a pair like R-R or teacher:student)")
    teacher_arch, student_arch = resolve_pair(cfg["pair"])
    cfg["teacher"]["arch"] = teacher_arch
    cfg["student_arch"] = student_arch
    if not cfg.get("bands"):
        cfg["bands"] = list(bench.teacher_bands)
    if is_sembridge(cfg["method"]):
        from ackd_bench.config import deep_update
        from ackd_bench.methods.sembridge.wrapper import SEMBRIDGE_DEFAULTS

        # the matcher's own defaults stay with the matcher (its seed follows the run seed unless given)
        given = {k: v for k, v in cfg["sembridge"].items() if v is not None}
        cfg["sembridge"] = deep_update(SEMBRIDGE_DEFAULTS, given)
    if cfg.get("pairing") is None:
        ssm = is_sembridge(cfg["method"]) and not cfg["sembridge"].get("no_ssm")
        cfg["pairing"] = "ssm" if ssm else "random"
    return cfg


def _prepare_run_dir(out: Path, cfg: dict, resume: bool) -> bool:
    """Create or check RUN_DIR; returns True when an existing run is being resumed."""
    cfg_path = out / "config.yaml"
    if cfg_path.is_file():
        if not resume:
            raise ConfigError("already holds a run; pass --resume to continue it or choose another --out", out)
        saved = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        changed = sorted(k for k in set(saved) | set(cfg)
                         if k not in RESUMABLE_CHANGES and saved.get(k) != cfg.get(k))
        if changed:
            raise ConfigError(f"--resume with a different config ({', '.join(changed)}); use another --out", cfg_path)
        return True
    if out.exists() and any(out.iterdir()):
        raise ConfigError("exists and is not an ackd-bench run folder (no config.yaml); choose another --out", out)
    return False


def run_experiment(cfg: dict, out: str | Path, resume: bool = False, quiet: bool = False,
                   on_epoch_end: Callable[[int], None] | None = None) -> dict:
    """Train (or resume) one student run into RUN_DIR `out`; returns the result.json record.

    `on_epoch_end(epoch)` is called after each epoch's checkpoint is written (tests use it to interrupt).
    """
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.methods import build_method
    from ackd_bench.models import build_model

    wall_start = time.perf_counter()
    out = Path(out)
    bench = Benchmark.open(cfg["benchmark"])
    cfg = finalize_config(cfg, bench)
    resuming = _prepare_run_dir(out, cfg, resume)
    if resuming and (out / "result.json").is_file():
        done = read_json(out / "result.json")
        if done.get("epochs") == cfg["epochs"]:
            _say(quiet, f"{out}: already complete")
            return done
    atomic_write_text(out / "config.yaml", dump_yaml(cfg))

    device = resolve_device(cfg["device"])
    set_deterministic(cfg["deterministic"], device)
    timings: dict[str, float] = {}
    with timed(timings, "teacher"):
        record = get_teacher(bench, cfg, device, quiet=quiet)
        teacher_model = load_teacher(record, device)
    _say(quiet, f"teacher {cfg['teacher']['arch']} ({'trained' if record.trained else 'cached'}, "
                f"test OA {record.info['test_oa']:.4f}): {record.dir}")

    bands = cfg["bands"]
    student = {s: load_pool(bench, "student", s, device) for s in ("train", "val", "test")}
    teacher_train = load_pool(bench, "teacher", "train", device, bands, cfg["ms_norm"])
    with timed(timings, "teacher_cache"):
        cached = teacher_outputs(teacher_model, record.info["checkpoint_sha256"], bench, bands, cfg["ms_norm"],
                                 "train", teacher_train, cfg["eval_batch_size"], device, quiet=quiet)

    seed_everything(cfg["seed"])
    student_model = build_model(cfg["student_arch"], in_channels=3, num_classes=bench.num_classes)
    method = build_method(cfg["method"], student_model, bench.num_classes, cfg,
                          teacher_token_dim=teacher_model.token_dim, student_token_dim=student_model.token_dim)
    method = prepare_model(method, device)
    ctx = RunContext(bench=bench, cfg=cfg, device=device, run_dir=out, cache_dir=cache_root(), seed=cfg["seed"],
                     student_train=student["train"], teacher_train=teacher_train, teacher_outputs=cached.outputs,
                     method=method, timings=timings)
    live = cfg["teacher_mode"] == "live"
    teacher_fn = LiveTeacher(teacher_model, teacher_train, device) if live else CachedTeacher(cached.outputs)
    optimizer = make_optimizer(method.learnable_parameters(), cfg)
    scheduler = make_scheduler(optimizer, cfg["cosine"], cfg["epochs"])

    ckpt_dir = out / "checkpoints"
    start_epoch, best = 0, {"val_oa": -1.0, "epoch": -1}
    transport_cost = None
    ck = None
    if resuming and (ckpt_dir / "last.pt").is_file():
        ck = load_checkpoint(ckpt_dir / "last.pt", map_location=device)
        method.load_state_dict(ck["method"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        start_epoch, best, transport_cost = ck["epoch"] + 1, ck["best"], ck.get("transport")
        for key in _CARRIED_TIMINGS:
            timings[key] = timings.get(key, 0.0) + ck["timings"].get(key, 0.0)
        _say(quiet, f"resuming {out} at epoch {start_epoch}")
    log = MetricsLog(out / "metrics.jsonl")
    log.truncate(start_epoch)

    pairer = None
    rematch_epochs: list[int] = []
    if getattr(method, "uses_teacher", True):
        pairer = Pairer(cfg["pairing"], bench, student["train"].sample_ids, student["train"].labels.cpu().numpy(),
                        teacher_train.sample_ids, teacher_train.labels.cpu().numpy(), cfg["seed"], out / "pairings")
        table = method.initial_pairing(ctx)
        if table is not None:
            pairer.set_method_table(table, 0, save=start_epoch == 0)
        elif cfg["pairing"] in ("ssm", "ssm-free"):
            raise ConfigError(f"--pairing {cfg['pairing']} needs a +sembridge method (method {cfg['method']!r})")
        if ck is not None:
            pairer.load_state(ck["pairing"], start_epoch)
        rematch_epochs = sorted(set(method.rematch_epochs(cfg["epochs"])))
    if ck is not None:
        set_rng_state(ck["rng"])

    epochs = cfg["epochs"]
    bar = tqdm(range(start_epoch, epochs), initial=start_epoch, total=epochs, disable=quiet, file=sys.stderr,
               desc=f"{cfg['method']} {cfg['pair']}", unit="epoch")
    for epoch in bar:
        method.on_epoch_start(epoch, epochs)
        partners = None
        if pairer is not None:
            if epoch in rematch_epochs:
                round_idx = rematch_epochs.index(epoch) + 1
                with timed(timings, "rematch"):
                    pairer.set_method_table(method.rematch(ctx, epoch, round_idx), round_idx)
            partners = torch.as_tensor(pairer.partners_for_epoch(epoch), device=device)
        lr = optimizer.param_groups[0]["lr"]
        with timed(timings, "distill"):
            stats = train_epoch(method, optimizer, student["train"], partners, teacher_fn, cfg["batch_size"],
                                generator(cfg["seed"], "batches", epoch), device)
            val_oa = _oa(method.student, student["val"], cfg, device)
        scheduler.step()
        timings["train_images"] = timings.get("train_images", 0.0) + stats["images"]
        timings["train_seconds"] = timings.get("train_seconds", 0.0) + stats["seconds"]
        row = {"epoch": epoch, **stats["losses"], "train_acc": stats["train_acc"], "val_acc": val_oa, "lr": lr,
               "images_per_s": stats["images"] / max(stats["seconds"], 1e-9), "epoch_s": stats["seconds"]}
        if cfg["cost_every"] and (epoch + 1) % cfg["cost_every"] == 0:
            with timed(timings, "transport"):
                transport_cost = class_costs_now(method.student, student["train"], cached.outputs,
                                                 teacher_train.labels, cfg, device)
            row["transport"] = transport_cost
        log.append(row)
        improved = val_oa > best["val_oa"] or len(student["val"].labels) == 0
        if improved:
            best = {"val_oa": val_oa, "epoch": epoch}
            save_checkpoint(ckpt_dir / "best.pt", {"student": method.student.state_dict(), "epoch": epoch,
                                                   "val_oa": val_oa, "student_arch": cfg["student_arch"]})
        save_checkpoint(ckpt_dir / "last.pt", {
            "epoch": epoch, "method": method.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "rng": rng_state(),
            "pairing": pairer.state() if pairer is not None else {}, "best": best, "transport": transport_cost,
            "timings": {k: timings.get(k, 0.0) for k in _CARRIED_TIMINGS},
        })
        bar.set_postfix(loss=f"{stats['losses']['loss']:.3f}", val=f"{val_oa:.3f}")
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    bar.close()

    result = _finish(cfg, bench, method, student, record, out, best, timings, device, transport_cost)
    result["timings"]["total_s"] = time.perf_counter() - wall_start
    atomic_write_json(out / "result.json", result)
    m = result["metrics"]
    _say(quiet, f"{out}: test OA {m['test_oa_best_val']:.4f} at best val epoch {m['best_val_epoch']} "
                f"(last {m['test_oa_last']:.4f}); teacher test OA {m['teacher_test_oa']:.4f}")
    return result


def _oa(model: torch.nn.Module, pool: PoolTensors, cfg: dict, device: torch.device) -> float:
    logits = predict_logits(model, pool, cfg["eval_batch_size"], device)
    return overall_accuracy(logits.argmax(1).numpy(), pool.labels.cpu().numpy()) if len(logits) else 0.0


def class_costs_now(student_model: torch.nn.Module, student_train: PoolTensors, teacher_out,
                    teacher_labels: torch.Tensor, cfg: dict, device: torch.device) -> dict:
    """Transport costs between the current student's and the teacher's train embeddings (transport.py)."""
    from ackd_bench import transport

    s_emb = forward_all(student_model, student_train.x, cfg["eval_batch_size"], device, ("embedding",))["embedding"]
    return transport.class_costs(teacher_out.embedding.float().cpu().numpy(), s_emb.numpy(),
                                 teacher_labels.cpu().numpy(), student_train.labels.cpu().numpy())


def _finish(cfg: dict, bench, method, student: dict, record, out: Path, best: dict, timings: dict,
            device: torch.device, transport_cost) -> dict:
    """Test at the last and best-val epochs, predictions.parquet, and the result record."""
    test = student["test"]
    labels = test.labels.cpu().numpy()
    last_pred = predict_logits(method.student, test, cfg["eval_batch_size"], device).argmax(1).numpy()
    best_ck = load_checkpoint(out / "checkpoints" / "best.pt", map_location=device)
    method.student.load_state_dict(best_ck["student"])
    best_logits = predict_logits(method.student, test, cfg["eval_batch_size"], device)
    best_pred = best_logits.argmax(1).numpy()
    write_predictions(out / "predictions.parquet", test.sample_ids, labels, best_pred, best_logits.numpy())
    metrics = {
        "test_oa_best_val": overall_accuracy(best_pred, labels),
        "test_oa_last": overall_accuracy(last_pred, labels),
        "test_macro_f1_best_val": macro_f1(best_pred, labels),
        "test_macro_f1_last": macro_f1(last_pred, labels),
        "per_class_acc": per_class_accuracy(best_pred, labels, list(bench.classes)),
        "best_val_epoch": int(best_ck["epoch"]),
        "val_oa_best": float(best_ck["val_oa"]),
        "teacher_test_oa": float(record.info["test_oa"]),
    }
    result = {
        "schema_version": 1,
        "ackd_bench_version": __version__,
        "benchmark": {"name": bench.name, "version": bench.version, "manifests_sha256": bench.manifests_sha256},
        "method": cfg["method"],
        "pairing": cfg["pairing"],
        "pair": cfg["pair"],
        "teacher_arch": cfg["teacher"]["arch"],
        "student_arch": cfg["student_arch"],
        "seed": cfg["seed"],
        "band_set": list(cfg["bands"]),
        "profile": cfg["profile"],
        "epochs": cfg["epochs"],
        "metrics": metrics,
        "timings": {
            "teacher_s": timings.get("teacher", 0.0),
            "teacher_cache_s": timings.get("teacher_cache", 0.0),
            "matcher_s": timings.get("matcher", 0.0),
            "gallery_s": timings.get("gallery", 0.0),
            "rematch_s": timings.get("rematch", 0.0),
            "distill_s": timings.get("distill", 0.0),
            "total_s": 0.0,
            "train_images_per_s": timings.get("train_images", 0.0) / max(timings.get("train_seconds", 0.0), 1e-9),
        },
        "environment": environment(device),
        "config": cfg,
        "files": {"predictions": "predictions.parquet", "metrics": "metrics.jsonl", "pairings": "pairings"},
    }
    if transport_cost is not None:
        result["transport"] = transport_cost
    result.update(method.record_extra() or {})
    return result


def write_predictions(path: Path, sample_ids: list[str], labels: np.ndarray, pred: np.ndarray,
                      logits: np.ndarray) -> None:
    """predictions.parquet: sample_id, label, prediction, logits (list<float32>)."""
    logits = np.asarray(logits, dtype=np.float32)
    k = logits.shape[1] if logits.ndim == 2 else 0
    offsets = pa.array(np.arange(len(sample_ids) + 1, dtype=np.int32) * k)
    table = pa.table({
        "sample_id": pa.array(sample_ids, type=pa.string()),
        "label": pa.array(np.asarray(labels, dtype=np.int64)),
        "prediction": pa.array(np.asarray(pred, dtype=np.int64)),
        "logits": pa.ListArray.from_arrays(offsets, pa.array(logits.reshape(-1), type=pa.float32())),
    })
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def environment(device: torch.device) -> dict:
    name = str(device.type)
    if device.type == "cuda":
        name = f"cuda ({torch.cuda.get_device_name(device)})"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": name,
        "git_sha": git_sha(),
    }


def git_sha() -> str | None:
    repo = Path(__file__).resolve().parents[2]
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else None


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr)
