"""The state a run shares with method hooks (SemBridge pairing and re-matching)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass
class PoolTensors:
    """One split of one pool, normalised, on the run's device."""

    x: torch.Tensor  # (N, C, H, W) float
    labels: torch.Tensor  # (N,) long
    sample_ids: list[str]


@dataclass
class RunContext:
    bench: Any  # ackd_bench.data.benchmark.Benchmark
    cfg: dict
    device: torch.device
    run_dir: Path
    cache_dir: Path
    seed: int
    student_train: PoolTensors
    teacher_train: PoolTensors
    teacher_outputs: Any  # ackd_bench.methods.TeacherOutput for every teacher train sample (row-aligned)
    method: Any  # the Distiller being trained (its .student is the current student)
    timings: dict[str, float] = field(default_factory=dict)  # phase name -> seconds (hooks add to it)
