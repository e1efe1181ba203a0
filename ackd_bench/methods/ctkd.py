"""`ctkd`: Li et al., AAAI 2023, "Curriculum Temperature for Knowledge Distillation" (global temperature)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput, warmup_length
from ackd_bench.methods.kd import kd_loss
from ackd_bench.models.base import BackboneOutput


class GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the incoming gradient by -lambda."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:  # type: ignore[override]
        ctx.lambda_ = float(lambda_)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.lambda_ * grad, None


def grad_reverse(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    return GradientReversal.apply(x, lambda_)


def cosine_lambda(epoch: int, warmup_epochs: float, lambda_min: float = 0.0, lambda_max: float = 1.0) -> float:
    """Cosine curriculum from lambda_min (epoch 0) to lambda_max (epoch >= warmup_epochs)."""
    if warmup_epochs <= 0:
        return lambda_max
    progress = min(max(epoch, 0), warmup_epochs) / warmup_epochs
    return lambda_min + (lambda_max - lambda_min) * (1.0 - math.cos(math.pi * progress)) / 2.0


class GlobalTemperature(nn.Module):
    """T = t_start + (t_end - t_start) * sigmoid(theta); theta is reached through the gradient-reversal layer."""

    def __init__(self, t_start: float, t_end: float, theta_init: float = 0.0):
        super().__init__()
        self.t_start = float(t_start)
        self.t_end = float(t_end)
        self.theta = nn.Parameter(torch.tensor(float(theta_init)))  # 0-d scalar

    def forward(self, lambda_: float) -> torch.Tensor:
        theta = grad_reverse(self.theta, lambda_)
        return self.t_start + (self.t_end - self.t_start) * torch.sigmoid(theta)


@METHODS.register("ctkd")
class CTKD(Distiller):
    """KD at a learnable temperature that is trained adversarially (it ascends the KD loss)."""

    name = "ctkd"
    defaults = {
        "t_start": 1.0,
        "t_end": 21.0,  # T in [1, 21] (spec §5)
        "theta_init": 0.0,  # T = 11 at the start
        "warmup_epochs": 5,
        "lambda_min": 0.0,
        "lambda_max": 1.0,
        "t2": True,  # CTKD paper: tau^2 * KL
    }

    def __init__(self, student: nn.Module, num_classes: int, cfg: dict | None = None):
        super().__init__(student, num_classes, cfg)
        hp = self.hparams
        self.temperature = GlobalTemperature(hp["t_start"], hp["t_end"], hp["theta_init"])

    def current_lambda(self) -> float:
        hp = self.hparams
        # scaled to the run length like DynM (warmups: scaled); absolute and official count the epochs as given,
        # which is the official CosineDecay(0, -1, 5).get_value(epoch) with its 0-based epoch
        length = warmup_length(hp["warmup_epochs"], self.num_epochs, self.warmups)
        return cosine_lambda(self.epoch, length, hp["lambda_min"], hp["lambda_max"])

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        T = self.temperature(self.current_lambda())
        kd = kd_loss(s.logits, t.logits, T, self.hparams["t2"])
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}

    def extra_modules(self) -> list[nn.Module]:
        return [self.temperature]
