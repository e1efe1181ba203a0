"""`distilvpr`: Wang et al., AAAI 2024, "DistilVPR: Cross-Modal Knowledge Distillation for Visual Place
Recognition" -- relational distillation on embeddings in Euclidean, cosine and Poincare-ball geometries.

Implemented per geometry g (weights w_g, default 0.1 each):
    w_g * [ MSE(R_g(S,S), sg(R_g(S,T))) + MSE(R_g(S,T), sg(R_g(T,T))) ]
with R_g(X,Y)[i,j] = relation(x_i, y_j) and sg a stop-gradient on the TARGET relation of each term, as the
official code (`distil_loss_fn(distmat_ss, distmat_st.detach())`, `(distmat_st, distmat_tt.detach())`):
R_SS is pulled towards R_ST, and R_ST towards R_TT, never the other way. `stop_grad: false` lets the gradient
flow through both sides of each MSE (same values, different gradients). The official code's extra 10 x RKD-G
term is NOT included.
`normalize=True` (the default) L2-normalises both embeddings first, as VPR global descriptors are: the
relations then live on the unit sphere (Euclidean distances in [0, 2], the Poincare map of a unit vector has
norm tanh(sqrt(c)) / sqrt(c) < 1 / sqrt(c)), so the loss is on the scale of CE whatever the backbone. With
`normalize=False` the raw 512-d embeddings are used and the Euclidean term grows with the squared norm
(it can reach ~1e6 on untrained backbones), which swamps CE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ackd_bench.methods.base import METHODS, Distiller, TeacherOutput
from ackd_bench.models.base import BackboneOutput

EPS = 1e-12
BALL_EPS = 1e-3  # points are kept at norm <= (1 - BALL_EPS) / sqrt(c)
ARTANH_MAX = 1.0 - 1e-5


def euclidean_relation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B,d),(M,d) -> (B,M) Euclidean distances (sqrt of clamped squared distances: finite gradients)."""
    d2 = x.pow(2).sum(1)[:, None] + y.pow(2).sum(1)[None, :] - 2.0 * x @ y.t()
    return d2.clamp(min=EPS).sqrt()


def cosine_relation(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B,M) cosine similarities."""
    return F.normalize(x, dim=1, eps=EPS) @ F.normalize(y, dim=1, eps=EPS).t()


def expmap0(v: torch.Tensor, c: float) -> torch.Tensor:
    """Exponential map at 0 of the Poincare ball of curvature -c: tanh(sqrt(c)|v|) v / (sqrt(c)|v|), projected."""
    sc = c**0.5
    norm = v.norm(dim=1, keepdim=True).clamp(min=EPS)
    x = torch.tanh(sc * norm) * v / (sc * norm)
    max_norm = (1.0 - BALL_EPS) / sc
    x_norm = x.norm(dim=1, keepdim=True).clamp(min=EPS)
    return torch.where(x_norm > max_norm, x / x_norm * max_norm, x)


def poincare_relation(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    """(B,M) geodesic distances 2/sqrt(c) artanh(sqrt(c) |(-x_i) (+)_c y_j|) of points already in the ball.

    Mobius addition a (+)_c b = ((1 + 2c<a,b> + c|b|^2) a + (1 - c|a|^2) b) / (1 + 2c<a,b> + c^2|a|^2|b|^2);
    its squared norm is evaluated from the Gram matrix (no (B,M,d) tensor).
    """
    xy = -(x @ y.t())  # <a, b> with a = -x
    x2 = x.pow(2).sum(1)[:, None]
    y2 = y.pow(2).sum(1)[None, :]
    alpha = 1.0 + 2.0 * c * xy + c * y2
    beta = 1.0 - c * x2
    denom = (1.0 + 2.0 * c * xy + c**2 * x2 * y2).clamp(min=EPS)
    num2 = alpha**2 * x2 + 2.0 * alpha * beta * xy + beta**2 * y2
    norm = (num2.clamp(min=EPS)).sqrt() / denom
    arg = (c**0.5 * norm).clamp(max=ARTANH_MAX)
    return 2.0 / c**0.5 * torch.atanh(arg)


def _relations(geometry: str, x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    if geometry == "euclidean":
        return euclidean_relation(x, y)
    if geometry == "cosine":
        return cosine_relation(x, y)
    return poincare_relation(x, y, c)


def distilvpr_terms(
    s_emb: torch.Tensor, t_emb: torch.Tensor, c: float, stop_grad: bool = True
) -> dict[str, torch.Tensor]:
    """Unweighted per-geometry loss MSE(R_SS, sg(R_ST)) + MSE(R_ST, sg(R_TT)) (sg = identity without stop_grad)."""
    sg = (lambda r: r.detach()) if stop_grad else (lambda r: r)
    off_diag = 1.0 - torch.eye(s_emb.shape[0], dtype=s_emb.dtype, device=s_emb.device)
    terms: dict[str, torch.Tensor] = {}
    for geometry in ("euclidean", "cosine", "poincare"):
        if geometry == "poincare":
            s, t = expmap0(s_emb, c), expmap0(t_emb, c)
        else:
            s, t = s_emb, t_emb
        r_ss = _relations(geometry, s, s, c)
        r_tt = _relations(geometry, t, t, c)
        if geometry != "cosine":  # self-distances: exact zero diagonal
            r_ss, r_tt = r_ss * off_diag, r_tt * off_diag
        r_st = _relations(geometry, s, t, c)
        terms[geometry] = F.mse_loss(r_ss, sg(r_st)) + F.mse_loss(r_st, sg(r_tt))
    return terms


def distilvpr_loss(
    s_emb: torch.Tensor,
    t_emb: torch.Tensor,
    c: float,
    w_euclidean: float,
    w_cosine: float,
    w_poincare: float,
    stop_grad: bool = True,
) -> torch.Tensor:
    terms = distilvpr_terms(s_emb, t_emb, c, stop_grad)
    return w_euclidean * terms["euclidean"] + w_cosine * terms["cosine"] + w_poincare * terms["poincare"]


@METHODS.register("distilvpr")
class DistilVPR(Distiller):
    name = "distilvpr"
    defaults = {"c": 0.1, "w_euclidean": 0.1, "w_cosine": 0.1, "w_poincare": 0.1, "normalize": True, "stop_grad": True}

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        hp = self.hparams
        s_emb, t_emb = s.embedding, t.embedding
        if hp["normalize"]:
            s_emb, t_emb = F.normalize(s_emb, dim=1, eps=EPS), F.normalize(t_emb, dim=1, eps=EPS)
        kd = distilvpr_loss(s_emb, t_emb, hp["c"], hp["w_euclidean"], hp["w_cosine"], hp["w_poincare"], hp["stop_grad"])
        return {"ce": self.ce(s, labels), "kd": self.w_kd * kd}
