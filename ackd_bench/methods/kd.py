"""`kd`: Hinton et al. 2015, "Distilling the knowledge in a neural network"."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.models.base import BackboneOutput


def kd_loss(s_logits: torch.Tensor, t_logits: torch.Tensor, T: float | torch.Tensor, t2: bool) -> torch.Tensor:
    """KL(softmax(t/T) || softmax(s/T)) averaged over the batch; times T^2 when `t2`."""
    log_p_s = F.log_softmax(s_logits / T, dim=1)
    log_p_t = F.log_softmax(t_logits / T, dim=1)
    loss = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    return loss * T**2 if t2 else loss


@METHODS.register("kd")
class KD(Distiller):
    name = "kd"
    defaults = {"T": 3.0, "t2": False}  # official ACKD CKD: T=3, no T^2

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        kd = kd_loss(s.logits, t.logits, self.hparams["T"], self.hparams["t2"])
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}
