"""`logits`: Ba & Caruana, NeurIPS 2014 ("Do deep nets really need to be deep?"): logit regression."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.models.base import BackboneOutput


def logits_loss(s_logits: torch.Tensor, t_logits: torch.Tensor, scale: float) -> torch.Tensor:
    """scale * mean over all B*K elements of (s - t)^2."""
    return scale * F.mse_loss(s_logits, t_logits, reduction="mean")


@METHODS.register("logits")
class Logits(Distiller):
    name = "logits"
    defaults = {"scale": 0.01}  # official ACKD Logits.py: 0.01 * MSE; scale=1.0 is the paper's plain L2

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        kd = logits_loss(s.logits, t.logits, self.hparams["scale"])
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}
