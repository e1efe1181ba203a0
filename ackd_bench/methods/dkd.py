"""`dkd`: Zhao et al., CVPR 2022, "Decoupled Knowledge Distillation" (TCKD + NCKD)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ackd_bench.methods.base import METHODS, REFERENCE_EPOCHS, Distiller, TeacherOutput, warmup_length
from ackd_bench.models.base import BackboneOutput


def _binary_kl(p_t: torch.Tensor, p_s: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of KL([p_t, 1-p_t] || [p_s, 1-p_s]) for target-class probabilities p (B,)."""
    b_t = torch.stack([p_t, 1.0 - p_t], dim=1)
    b_s = torch.stack([p_s, 1.0 - p_s], dim=1)
    return (b_t * (b_t.clamp_min(1e-12).log() - b_s.clamp_min(1e-12).log())).sum()


def dkd_terms(
    s_logits: torch.Tensor, t_logits: torch.Tensor, labels: torch.Tensor, T: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(TCKD, NCKD), each batch-averaged and multiplied by T^2."""
    B, K = s_logits.shape
    target = F.one_hot(labels, K).bool()
    p_s = F.softmax(s_logits / T, dim=1)
    p_t = F.softmax(t_logits / T, dim=1)
    tckd = _binary_kl(p_t[target], p_s[target]) * T**2 / B
    # NCKD: distributions over the K-1 non-target classes only (target column removed)
    s_nt = s_logits[~target].view(B, K - 1)
    t_nt = t_logits[~target].view(B, K - 1)
    nckd = (
        F.kl_div(F.log_softmax(s_nt / T, dim=1), F.log_softmax(t_nt / T, dim=1), reduction="sum", log_target=True)
        * T**2
        / B
    )
    return tckd, nckd


def dkd_warmup(epoch: int, warmup: float, num_epochs: int = REFERENCE_EPOCHS, mode: str = "scaled") -> float:
    """The DKD loss factor in 0-based `epoch` of a run of `num_epochs` epochs.

    - scaled (default): min((epoch + 1) / W, 1) with W = warmup * min(1, num_epochs / 200), as DynM scales;
    - absolute: min((epoch + 1) / warmup, 1), mdistiller's epoch / warmup with its 1-based epochs;
    - official: min(epoch / warmup, 1) with the 0-based epoch, as ACKD's train.py passes it (the first epoch
      gets no DKD term, full weight from epoch `warmup` on: one epoch later than mdistiller).
    """
    if mode == "official":
        return min(epoch / warmup, 1.0) if warmup > 0 else 1.0
    length = warmup_length(warmup, num_epochs, mode)
    return min((epoch + 1) / length, 1.0) if length > 0 else 1.0


@METHODS.register("dkd")
class DKD(Distiller):
    name = "dkd"
    defaults = {"alpha": 1.0, "beta": 8.0, "T": 4.0, "warmup": 20}

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        hp = self.hparams
        tckd, nckd = dkd_terms(s.logits, t.logits, labels, hp["T"])
        factor = dkd_warmup(self.epoch, hp["warmup"], self.num_epochs, self.warmups)
        kd = factor * (hp["alpha"] * tckd + hp["beta"] * nckd)
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}
