"""Embeddings of a finished run (used by `ackd-bench cost`): the best-val student and the cached teacher."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ackd_bench.data.benchmark import Benchmark
from ackd_bench.engine.loops import forward_all
from ackd_bench.engine.pools import load_pool
from ackd_bench.engine.seed import set_deterministic
from ackd_bench.engine.teacher import get_teacher, load_teacher
from ackd_bench.engine.teacher_outputs import teacher_outputs
from ackd_bench.errors import DataError
from ackd_bench.models import build_model
from ackd_bench.runtime.checkpoint import load_checkpoint
from ackd_bench.runtime.device import prepare_model, resolve_device


@dataclass
class RunEmbeddings:
    student_emb: np.ndarray  # (Ns, D) float32, best-val student, `split` of the student pool
    student_logits: np.ndarray  # (Ns, C) float32, the same student and images
    student_labels: np.ndarray
    student_ids: list[str]
    teacher_emb: np.ndarray  # (Nt, D) float32, frozen teacher, `split` of the teacher pool
    teacher_logits: np.ndarray  # (Nt, C) float32
    teacher_labels: np.ndarray
    teacher_ids: list[str]
    pairing: pd.DataFrame | None  # the run's final pairing table (last round, else last epoch), if any
    classes: list[str]  # class names (label = index)
    sckd_pairs: pd.DataFrame | None  # the benchmark's SCKD pairs (student_id, teacher_id), if any
    sckd_teacher_emb: np.ndarray | None = None  # frozen teacher on the paired tiles of `split` (sckd_teacher pool)
    sckd_teacher_ids: list[str] | None = None
    sckd_teacher_logits: np.ndarray | None = None


def load_run_config(run_dir: str | Path) -> dict:
    """The resolved config a run saved (RUN_DIR/config.yaml).

    Raises:
        DataError: `run_dir` is not a run folder, or its config.yaml is not a mapping.
    """
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise DataError("not a run folder (config.yaml missing)", run_dir)
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(cfg, dict):
        raise DataError("not a config mapping", path)
    return cfg


def final_pairing(run_dir: str | Path) -> pd.DataFrame | None:
    """The last method-provided round table (round_NNN), else the last per-epoch table, else None."""
    folder = Path(run_dir) / "pairings"
    for pattern in ("round_*.parquet", "epoch_*.parquet"):
        tables = sorted(folder.glob(pattern))
        if tables:
            return pd.read_parquet(tables[-1])
    return None


def run_embeddings(
    run_dir: str | Path,
    split: str = "train",
    benchmark: str | Path | None = None,
    device: str = "auto",
    quiet: bool = True,
) -> RunEmbeddings:
    """Student (best.pt) and teacher embeddings for `split` of both pools of a finished run."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    bench = Benchmark.open(benchmark or cfg["benchmark"])
    dev = resolve_device(device)
    set_deterministic(cfg["deterministic"], dev)  # the run's numerics: the same cache entries, the same outputs
    record = get_teacher(bench, cfg, dev, quiet=quiet)
    teacher_model = load_teacher(record, dev)
    bs = cfg["eval_batch_size"]
    t_pool = load_pool(bench, "teacher", split, dev, cfg["bands"], cfg["ms_norm"])
    t_out = teacher_outputs(
        teacher_model,
        record.info["checkpoint_sha256"],
        bench,
        cfg["bands"],
        cfg["ms_norm"],
        split,
        t_pool,
        bs,
        dev,
        quiet=quiet,
    ).outputs
    s_pool = load_pool(bench, "student", split, dev, train_fraction=cfg.get("train_fraction"))
    best = load_checkpoint(run_dir / "checkpoints" / "best.pt")
    student = build_model(cfg["student_arch"], in_channels=3, num_classes=bench.num_classes)
    student.load_state_dict(best["student"])
    student = prepare_model(student, dev)
    s_out = forward_all(student, s_pool.x, bs, dev, ("logits", "embedding"))
    sckd_emb = sckd_ids = sckd_logits = None
    if bench.sckd_pairs is not None:
        p_pool = load_pool(bench, "sckd_teacher", split, dev, cfg["bands"], cfg["ms_norm"])
        p_out = teacher_outputs(
            teacher_model,
            record.info["checkpoint_sha256"],
            bench,
            cfg["bands"],
            cfg["ms_norm"],
            f"sckd_{split}",
            p_pool,
            bs,
            dev,
            quiet=quiet,
        ).outputs
        sckd_emb, sckd_ids = p_out.embedding.float().cpu().numpy(), p_pool.sample_ids
        sckd_logits = p_out.logits.float().cpu().numpy()
    return RunEmbeddings(
        student_emb=s_out["embedding"].numpy().astype(np.float32),
        student_logits=s_out["logits"].numpy().astype(np.float32),
        student_labels=s_pool.labels.cpu().numpy(),
        student_ids=s_pool.sample_ids,
        teacher_emb=t_out.embedding.float().cpu().numpy(),
        teacher_logits=t_out.logits.float().cpu().numpy(),
        teacher_labels=t_pool.labels.cpu().numpy(),
        teacher_ids=t_pool.sample_ids,
        pairing=final_pairing(run_dir),
        classes=list(bench.classes),
        sckd_pairs=bench.sckd_pairs,
        sckd_teacher_emb=sckd_emb,
        sckd_teacher_ids=sckd_ids,
        sckd_teacher_logits=sckd_logits,
    )
