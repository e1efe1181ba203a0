"""Teacher training on the MS teacher pool, and the teacher checkpoint cache.

cache_root()/teachers/<key>/{teacher.pt, info.json}; key = hash of (benchmark manifests' sha256, arch,
band set, seed, teacher config hash, numerics: device type, autocast, deterministic mode, torch version).
info.json is written last, so its presence marks a complete entry;
teacher.pt's sha256 is recorded there and checked on every use (mismatch -> retrain).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ackd_bench.config import config_hash, teacher_config, teacher_seed
from ackd_bench.engine import faults
from ackd_bench.engine.cache import cache_root
from ackd_bench.engine.checkpoint import load_checkpoint, save_checkpoint
from ackd_bench.engine.device import autocast, numerics, prepare_input, prepare_model
from ackd_bench.engine.loops import batch_indices, forward_all, make_optimizer, make_scheduler
from ackd_bench.engine.metrics import overall_accuracy
from ackd_bench.engine.pools import load_pool
from ackd_bench.engine.seed import generator, seed_everything, set_deterministic
from ackd_bench.errors import DataError
from ackd_bench.io import atomic_write_json, read_json, sha256_file


@dataclass
class TeacherRecord:
    key: str
    dir: Path
    info: dict
    trained: bool  # True when this call trained it, False when reused from the cache

    @property
    def checkpoint(self) -> Path:
        return self.dir / "teacher.pt"


def teacher_bands(bench, cfg: dict) -> list[str]:
    return list(cfg["bands"]) if cfg.get("bands") else list(bench.teacher_bands)


def teacher_key(bench, cfg: dict, device: torch.device) -> str:
    t = cfg["teacher"]
    return config_hash(
        {
            "manifests_sha256": bench.manifests_sha256,
            "arch": t["arch"],
            "bands": teacher_bands(bench, cfg),
            "seed": teacher_seed(cfg),
            "config": teacher_config(cfg),
            "numerics": numerics(device, cfg["deterministic"]),  # a CPU and a GPU teacher differ
        }
    )


def _complete(entry: Path, quiet: bool = True) -> dict | None:
    """info.json of a complete, intact cache entry, else None (absent, unreadable or checksum mismatch)."""
    info_path, ckpt = entry / "info.json", entry / "teacher.pt"
    if not info_path.is_file() or not ckpt.is_file():
        return None
    try:
        info = read_json(info_path)
    except DataError as exc:
        _stale(quiet, f"{exc}; retraining")
        return None
    if not isinstance(info, dict) or info.get("checkpoint_sha256") != sha256_file(ckpt):
        _stale(quiet, f"{ckpt}: sha256 differs from info.json (corrupt or partial cache entry); retraining")
        return None
    return info


def _stale(quiet: bool, text: str) -> None:
    if not quiet:
        print(f"teacher cache: {text}", file=sys.stderr)


def get_teacher(bench, cfg: dict, device: torch.device, quiet: bool = False, force: bool = False) -> TeacherRecord:
    """The cached teacher for (benchmark, arch, bands, seed, config), training it first when absent."""
    key = teacher_key(bench, cfg, device)
    entry = cache_root() / "teachers" / key
    entry.mkdir(parents=True, exist_ok=True)
    with _lock(entry.parent / f"{key}.lock"):
        info = None if force else _complete(entry, quiet)
        if info is not None:
            return TeacherRecord(key, entry, info, trained=False)
        info = train_teacher(bench, cfg, device, entry, quiet=quiet)
        info["key"] = key
        atomic_write_json(entry / "info.json", info)
        return TeacherRecord(key, entry, info, trained=True)


def _lock(path: Path):
    from filelock import FileLock

    return FileLock(str(path))


def train_teacher(bench, cfg: dict, device: torch.device, out_dir: Path, quiet: bool = False) -> dict:
    """Train from scratch on teacher train, select on teacher val OA, evaluate teacher test; write teacher.pt."""
    from ackd_bench.models import build_model

    t = {**cfg["teacher"], "seed": teacher_seed(cfg)}  # "follow" resolved to the run's seed
    bands = teacher_bands(bench, cfg)
    start = time.perf_counter()
    set_deterministic(cfg["deterministic"], device)
    seed_everything(t["seed"])
    pools = {s: load_pool(bench, "teacher", s, device, bands, cfg["ms_norm"]) for s in ("train", "val", "test")}
    train = pools["train"]
    if len(train.labels) == 0:
        raise DataError("teacher train split is empty", Path(str(getattr(bench, "root", ""))) / "teacher.parquet")
    model = prepare_model(build_model(t["arch"], in_channels=len(bands), num_classes=bench.num_classes), device)
    optimizer = make_optimizer(model.parameters(), t)
    scheduler = make_scheduler(optimizer, t["cosine"], t["epochs"])
    best_val, best_epoch, best_state, history = -1.0, -1, None, []
    for epoch in range(t["epochs"]):
        model.train()
        losses = []
        for idx in batch_indices(len(train.labels), t["batch_size"], generator(t["seed"], "teacher", epoch), device):
            with autocast(device):
                out = model(prepare_input(train.x[idx], device))
                loss = F.cross_entropy(out.logits.float(), train.labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        scheduler.step()
        val_oa = _oa(model, pools["val"], cfg, device)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_oa": val_oa})
        faults.reached("teacher_epoch")
        if val_oa > best_val or len(pools["val"].labels) == 0:  # no val split: keep the last epoch
            best_val, best_epoch = val_oa, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if not quiet:
            print(f"teacher {t['arch']} epoch {epoch + 1}/{t['epochs']}: loss {history[-1]['loss']:.4f} "
                  f"val OA {val_oa:.4f}", file=sys.stderr)
    model.load_state_dict(best_state)
    test_oa = _oa(model, pools["test"], cfg, device)
    ckpt = out_dir / "teacher.pt"
    save_checkpoint(ckpt, {"state_dict": best_state, "arch": t["arch"], "in_channels": len(bands),
                           "num_classes": bench.num_classes, "bands": bands})
    return {
        "arch": t["arch"],
        "bands": bands,
        "seed": t["seed"],
        "ms_norm": cfg["ms_norm"],
        "config": teacher_config(cfg),
        "benchmark": {"name": bench.name, "version": bench.version, "manifests_sha256": bench.manifests_sha256},
        "num_classes": bench.num_classes,
        "best_val_epoch": best_epoch,
        "val_oa_best": best_val,
        "test_oa": test_oa,
        "train_seconds": time.perf_counter() - start,
        "history": history,
        "device": str(device),
        "checkpoint_sha256": sha256_file(ckpt),
    }


def _oa(model: torch.nn.Module, pool, cfg: dict, device: torch.device) -> float:
    if len(pool.labels) == 0:
        return 0.0
    logits = forward_all(model, pool.x, cfg["eval_batch_size"], device)["logits"]
    return overall_accuracy(logits.argmax(1).numpy(), pool.labels.cpu().numpy())


def load_teacher(record: TeacherRecord, device: torch.device) -> torch.nn.Module:
    """The frozen teacher backbone in eval mode on `device`."""
    from ackd_bench.models import build_model

    state = load_checkpoint(record.checkpoint, sha256=record.info.get("checkpoint_sha256"))  # hashed once
    model = build_model(state["arch"], in_channels=state["in_channels"], num_classes=state["num_classes"])
    model.load_state_dict(state["state_dict"])
    model = prepare_model(model, device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
