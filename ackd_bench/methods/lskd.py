"""`lskd`: Sun et al., CVPR 2024, "Logit Standardization in Knowledge Distillation"."""

from __future__ import annotations

import torch

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.methods.kd import kd_loss
from ackd_bench.models.base import BackboneOutput


def zscore(logits: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Per-sample standardisation over classes: (z - mean) / (std + eps), std with Bessel's correction."""
    mean = logits.mean(dim=1, keepdim=True)
    std = logits.std(dim=1, keepdim=True)
    return (logits - mean) / (std + eps)


def lskd_loss(s_logits: torch.Tensor, t_logits: torch.Tensor, T: float, eps: float = 1e-7) -> torch.Tensor:
    """T^2 * KL(softmax(z(t)/T) || softmax(z(s)/T))."""
    return kd_loss(zscore(s_logits, eps), zscore(t_logits, eps), T, t2=True)


@METHODS.register("lskd")
class LSKD(Distiller):
    name = "lskd"
    defaults = {"T": 3.0, "eps": 1e-7}

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        kd = lskd_loss(s.logits, t.logits, self.hparams["T"], self.hparams["eps"])
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}
