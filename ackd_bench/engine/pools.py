"""Load one split of one pool as normalised float tensors on the run's device (done once per run)."""

from __future__ import annotations

import numpy as np
import torch

from ackd_bench.methods.context import PoolTensors

_CHUNK = 1024  # images normalised at a time (bounds the temporary float copies)


def load_pool(
    bench,
    pool: str,
    split: str,
    device: torch.device,
    bands: list[str] | None = None,
    ms_norm: str = "mean_std",
    train_fraction: float | None = None,
) -> PoolTensors | None:
    """`pool`: "teacher" (MS, `bands` selected, `ms_norm`), "student" (RGB) or "sckd_teacher" (the MS tiles
    the student images of `split` were rendered from, row-aligned with the student split; None without pairs).
    `train_fraction`: the student train subset of that fraction (Benchmark.load_arrays).
    """
    if pool in ("teacher", "sckd_teacher"):
        sel = list(bands) if bands else None
        if pool == "teacher":
            arrays = bench.load_arrays("teacher", split, bands=sel)
        else:
            arrays = bench.load_sckd_teacher(split, bands=sel)
            if arrays is None:
                return None
        norm = bench.teacher_norm(list(arrays.bands), mode=ms_norm)
    else:
        arrays = bench.load_arrays("student", split, train_fraction=train_fraction if split == "train" else None)
        norm = bench.student_norm()
    raw = np.ascontiguousarray(arrays.x)
    chunks = [norm(torch.from_numpy(np.array(raw[i : i + _CHUNK]))).float() for i in range(0, len(raw), _CHUNK)]
    if chunks:
        x = torch.cat(chunks)
    else:
        x = torch.zeros((0, *raw.shape[1:]), dtype=torch.float32)
    labels = torch.as_tensor(np.array(arrays.labels, dtype=np.int64))
    return PoolTensors(x=x.to(device), labels=labels.to(device), sample_ids=[str(s) for s in arrays.sample_ids])
