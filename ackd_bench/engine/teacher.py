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

from ackd_bench.config import budget_record, config_hash, derive_epochs, teacher_config, teacher_seed
from ackd_bench.engine.augment import epoch_augment
from ackd_bench.engine.cache import cache_root
from ackd_bench.engine.loops import batch_indices, forward_all, make_optimizer, make_scheduler
from ackd_bench.engine.metrics import multilabel_metrics, overall_accuracy
from ackd_bench.engine.pools import load_pool
from ackd_bench.engine.seed import generator, seed_everything, set_deterministic
from ackd_bench.errors import DataError
from ackd_bench.io import atomic_write_json, read_json, sha256_file
from ackd_bench.models import build_model
from ackd_bench.runtime import faults
from ackd_bench.runtime.checkpoint import load_checkpoint, save_checkpoint
from ackd_bench.runtime.device import autocast, numerics, prepare_input, prepare_model


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
    return list(bench.run_bands(cfg.get("bands")))


def train_count(bench, pool: str, train_fraction: float | None = None) -> int:
    """Images in the train split of `pool` ("teacher" or "student"), from the manifest; with `train_fraction`
    (student only) the nested subset a label-efficiency run trains on, so step budgets count its images."""
    df = bench.manifest(pool)
    train = df["split"] == "train"
    if train_fraction is not None and train_fraction < 1.0:
        train &= df["train_fraction"] <= train_fraction + 1e-9
    return int(train.sum())


def teacher_key(bench, cfg: dict, device: torch.device) -> str:
    """Cache key; the recipe (optimizer, weight decay, schedule, augmentation) and the budget are part of it
    (a `steps` budget becomes epochs on this benchmark's teacher pool, whose manifests are in the key)."""
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
    """Train from scratch on teacher train, select on teacher val OA (mAP when multi-label), evaluate
    teacher test; write teacher.pt. A multi-label benchmark trains with BCE-with-logits (teacher_loss)."""
    t = {**cfg["teacher"], "seed": teacher_seed(cfg)}  # "follow" resolved to the run's seed
    bands = teacher_bands(bench, cfg)
    start = time.perf_counter()
    set_deterministic(cfg["deterministic"], device)
    seed_everything(t["seed"])
    pools = {s: load_pool(bench, "teacher", s, device, bands, cfg["ms_norm"]) for s in ("train", "val", "test")}
    train = pools["train"]
    targets = teacher_targets(bench, device)
    if len(train.labels) == 0:
        raise DataError("teacher train split is empty", Path(str(getattr(bench, "root", ""))) / "teacher.parquet")
    model = prepare_model(build_model(t["arch"], in_channels=len(bands), num_classes=bench.num_classes), device)
    optimizer = make_optimizer(model.parameters(), t)
    epochs = derive_epochs(t, len(train.labels))
    scheduler = make_scheduler(optimizer, t["cosine"], epochs)
    best_val, best_epoch, best_state, history = -1.0, -1, None, []
    for epoch in range(epochs):
        model.train()
        losses = []
        # augmentation only while training the teacher: its cached outputs are computed on un-augmented tiles
        augment = epoch_augment(t["augment"], len(train.labels), generator(t["seed"], "teacher-augment", epoch))
        for idx in batch_indices(len(train.labels), t["batch_size"], generator(t["seed"], "teacher", epoch), device):
            x = prepare_input(train.x[idx], device)
            if augment is not None:
                x = augment(x, idx)
            with autocast(device):
                out = model(x)
                loss = teacher_loss(out.logits.float(), idx, train.labels, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        scheduler.step()
        val_score = _selection_score(model, pools["val"], targets, cfg, device)  # OA, or mAP when multi-label
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), _selection_key(targets): val_score})
        faults.reached("teacher_epoch")
        if val_score > best_val or len(pools["val"].labels) == 0:  # no val split: keep the last epoch
            best_val, best_epoch = val_score, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if not quiet:
            print(
                f"teacher {t['arch']} epoch {epoch + 1}/{epochs}: loss {history[-1]['loss']:.4f} "
                f"val {'OA' if targets is None else 'mAP'} {val_score:.4f}",
                file=sys.stderr,
            )
    model.load_state_dict(best_state)
    test_metrics = _test_metrics(model, pools["test"], targets, cfg, device)
    ckpt = out_dir / "teacher.pt"
    save_checkpoint(
        ckpt,
        {
            "state_dict": best_state,
            "arch": t["arch"],
            "in_channels": len(bands),
            "num_classes": bench.num_classes,
            "bands": bands,
        },
    )
    return {
        "arch": t["arch"],
        "bands": bands,
        "seed": t["seed"],
        "ms_norm": cfg["ms_norm"],
        "config": teacher_config(cfg),
        "benchmark": {"name": bench.name, "version": bench.version, "manifests_sha256": bench.manifests_sha256},
        "num_classes": bench.num_classes,
        "budget": budget_record(t, len(train.labels)),
        "best_val_epoch": best_epoch,
        "val_oa_best": None if targets else best_val,
        **({"val_map_best": best_val} if targets else {}),
        **test_metrics,
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


# ---------------------------------------------------------------- single- vs multi-label teacher
def teacher_targets(bench, device: torch.device) -> dict[str, torch.Tensor] | None:
    """Multi-hot (N, K) float targets per split of a multi-label teacher pool; None when single-label."""
    if not getattr(bench, "multilabel", False):
        return None
    return {s: torch.from_numpy(bench.targets("teacher", s)).to(device) for s in ("train", "val", "test")}


def teacher_loss(logits: torch.Tensor, idx: torch.Tensor, labels: torch.Tensor, targets: dict | None) -> torch.Tensor:
    """Cross-entropy on the class labels, or BCE-with-logits on the multi-hot targets (multi-label)."""
    if targets is None:
        return F.cross_entropy(logits, labels[idx])
    return F.binary_cross_entropy_with_logits(logits, targets["train"][idx])


def _selection_key(targets: dict | None) -> str:
    return "val_oa" if targets is None else "val_map"


def _selection_score(model: torch.nn.Module, pool, targets: dict | None, cfg: dict, device: torch.device) -> float:
    """Validation score that selects the best epoch: OA, or mAP for a multi-label teacher."""
    if targets is None:
        return _oa(model, pool, cfg, device)
    if len(pool.labels) == 0:
        return 0.0
    logits = forward_all(model, pool.x, cfg["eval_batch_size"], device)["logits"]
    return multilabel_metrics(logits.numpy(), targets["val"].cpu().numpy())["map"]


def _test_metrics(model: torch.nn.Module, pool, targets: dict | None, cfg: dict, device: torch.device) -> dict:
    """{"test_oa"} for a single-label teacher. A multi-label teacher has no OA (`test_oa` None) but
    `test_multilabel`: mAP, micro/macro F1 at sigmoid 0.5, subset accuracy, and `primary_top1` (argmax
    equals the primary class: the single-label task the student is scored on)."""
    if targets is None:
        return {"test_oa": _oa(model, pool, cfg, device)}
    if len(pool.labels) == 0:
        return {"test_oa": None, "test_multilabel": None}
    logits = forward_all(model, pool.x, cfg["eval_batch_size"], device)["logits"]
    got = multilabel_metrics(logits.numpy(), targets["test"].cpu().numpy())
    got["primary_top1"] = overall_accuracy(logits.argmax(1).numpy(), pool.labels.cpu().numpy())
    return {"test_oa": None, "test_multilabel": got}


def teacher_summary(info: dict) -> str:
    """One line of the teacher's test scores: "test OA 0.9123" or the multi-label metrics."""
    ml = info.get("test_multilabel")
    if info.get("test_oa") is None and ml:
        return (
            f"test mAP {ml['map']:.4f}, micro-F1 {ml['micro_f1']:.4f}, macro-F1 {ml['macro_f1']:.4f}, "
            f"subset acc {ml['subset_accuracy']:.4f} (multi-label)"
        )
    return f"test OA {info['test_oa']:.4f}" if info.get("test_oa") is not None else "no test split"


def load_teacher(record: TeacherRecord, device: torch.device) -> torch.nn.Module:
    """The frozen teacher backbone in eval mode on `device`."""
    state = load_checkpoint(record.checkpoint, sha256=record.info.get("checkpoint_sha256"))  # hashed once
    model = build_model(state["arch"], in_channels=state["in_channels"], num_classes=state["num_classes"])
    model.load_state_dict(state["state_dict"])
    model = prepare_model(model, device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
