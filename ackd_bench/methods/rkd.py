"""`rkd`: Park et al., CVPR 2019, "Relational Knowledge Distillation" (distance + angle, on embeddings)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.models.base import BackboneOutput

EPS = 1e-12


def pairwise_distances(e: torch.Tensor) -> torch.Tensor:
    """(B,d) -> (B,B) Euclidean distances with an exact zero diagonal and a finite gradient."""
    sq = e.pow(2).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * e @ e.t()).clamp(min=EPS)
    off_diag = 1.0 - torch.eye(e.shape[0], dtype=e.dtype, device=e.device)
    return d2.sqrt() * off_diag


def rkd_distance_loss(s_emb: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
    """smooth-L1 between the distance matrices, each divided by its mean non-zero distance."""
    d_s = pairwise_distances(s_emb)
    d_t = pairwise_distances(t_emb)
    d_s = d_s / d_s[d_s > 0].mean()
    d_t = d_t / d_t[d_t > 0].mean()
    return F.smooth_l1_loss(d_s, d_t, reduction="mean")


def triplet_angles(e: torch.Tensor) -> torch.Tensor:
    """(B,d) -> (B,B,B): a[j,i,k] = cos of the angle at vertex e_j between e_i and e_k (0 when degenerate)."""
    u = F.normalize(e[None, :, :] - e[:, None, :], p=2, dim=2, eps=EPS)  # u[j,i] = unit(e_i - e_j)
    return u @ u.transpose(1, 2)


def rkd_angle_loss(s_emb: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
    """smooth-L1 between the triplet-angle cosines (mean over all B^3 triplets)."""
    return F.smooth_l1_loss(triplet_angles(s_emb), triplet_angles(t_emb), reduction="mean")


def rkd_loss(s_emb: torch.Tensor, t_emb: torch.Tensor, w_dist: float, w_angle: float) -> torch.Tensor:
    return w_dist * rkd_distance_loss(s_emb, t_emb) + w_angle * rkd_angle_loss(s_emb, t_emb)


@METHODS.register("rkd")
class RKD(Distiller):
    """Unlike the official ACKD train.py, the student embedding is NOT detached: the term trains the student."""

    name = "rkd"
    defaults = {"w_dist": 25.0, "w_angle": 50.0, "scale": 0.1}  # official: 0.1 * (25 L_dist + 50 L_angle)

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        hp = self.hparams
        kd = hp["scale"] * rkd_loss(s.embedding, t.embedding, hp["w_dist"], hp["w_angle"])
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}
