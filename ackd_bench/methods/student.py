"""`student`: the distillation-free baseline (CE only, weight 1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.models.base import BackboneOutput


@METHODS.register("student")
class Student(Distiller):
    name = "student"
    defaults: dict = {}
    uses_teacher = False

    def compute_losses(
        self, s: BackboneOutput, t: TeacherOutput | None, labels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {"ce": F.cross_entropy(s.logits, labels)}
