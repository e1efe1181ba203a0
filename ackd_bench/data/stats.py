"""Per-band statistics: teacher over TEACHER TRAIN (raw DN), student over STUDENT TRAIN (on [0, 1])."""

from __future__ import annotations

import numpy as np


def band_mean_std(x: np.ndarray, scale: float = 1.0) -> tuple[list[float], list[float]]:
    """Per-channel mean and population std of (N, C, H, W) `x` divided by `scale` (float64 accumulation)."""
    if x.shape[0] == 0:
        raise ValueError("no samples for statistics")
    c = x.shape[1]
    mean = np.zeros(c)
    sq = np.zeros(c)
    for i in range(c):
        ch = x[:, i].astype(np.float64) / scale
        mean[i] = ch.mean()
        sq[i] = (ch * ch).mean()
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return [_r(v) for v in mean], [_r(v) for v in std]


def _r(v: float) -> float:
    return float(f"{float(v):.10g}")  # stable text in stats.json


def compute_stats(teacher_train: np.ndarray, bands: list[str], student_train: np.ndarray) -> dict:
    t_mean, t_std = band_mean_std(teacher_train)
    s_mean, s_std = band_mean_std(student_train, 255.0)
    return {
        "teacher": {"bands": list(bands), "mean": t_mean, "std": t_std},
        "student": {"mean": s_mean, "std": s_std},
    }
