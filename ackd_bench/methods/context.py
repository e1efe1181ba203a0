"""What a run shares with its method's hooks (SemBridge's pairing and re-matching): the run context.

It lives with the methods (not the engine) because it is part of the method API: the engine builds it once
per run and passes it to every hook; a method never imports the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ackd_bench.data.benchmark import Benchmark
from ackd_bench.methods.base import Distiller, TeacherOutput


@dataclass
class PoolTensors:
    """One split of one pool, normalised, on the run's device."""

    x: torch.Tensor  # (N, C, H, W) float
    labels: torch.Tensor  # (N,) long
    sample_ids: list[str]


@dataclass
class RunContext:
    bench: Benchmark
    cfg: dict
    device: torch.device
    run_dir: Path
    cache_dir: Path
    seed: int
    student_train: PoolTensors
    teacher_train: PoolTensors
    teacher_outputs: TeacherOutput  # for every teacher train sample (row-aligned with teacher_train)
    method: Distiller  # the method being trained (its .student is the current student)
    bands: tuple[str, ...] = ()  # the run's teacher band names (resolved once: cfg "bands", else the card's)
    timings: dict[str, float] = field(default_factory=dict)  # phase name -> seconds

    def add_time(self, phase: str, seconds: float) -> None:
        """Add `seconds` to phase `phase`; result.json records the phases under timings.<phase>_s."""
        self.timings[phase] = self.timings.get(phase, 0.0) + float(seconds)
