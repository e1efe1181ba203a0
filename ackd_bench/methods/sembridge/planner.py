"""SKA planners: multi-head attention maps as entropic OT plans, token weights and refinement.

Entropic OT min_P <C,P> - eps H(P) s.t. P 1 = 1 has the Lagrangian solution P_ij = softmax_j(-C_ij/eps);
with a learned cost C_ij = -q_i . k_j and eps = sqrt(d_h) this is softmax(Q K^T / sqrt(d_h)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Planner(nn.Module):
    """Per-head plans softmax(Q K^T / sqrt(d_h)) over one model's tokens.

    Tokens of any width are projected to `dim` first (identity when already `dim` wide), so every
    backbone pair works (the official code crashed on ShuffleNet's 1,024-d tokens). Only Q and K are
    built: the official value/output projections never influenced the returned plan.
    """

    def __init__(self, in_dim: int, dim: int = 512, heads: int = 8):
        super().__init__()
        if dim % heads:
            raise ValueError(f"planner dim {dim} not divisible by {heads} heads")
        self.heads, self.head_dim = heads, dim // heads
        self.proj = nn.Identity() if in_dim == dim else nn.Linear(in_dim, dim)
        self.qk = nn.Linear(dim, 2 * dim, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, C) tokens -> (B, heads, N, N) plans; every row sums to 1."""
        b, n, _ = tokens.shape
        q, k = self.qk(self.proj(tokens)).chunk(2, dim=-1)
        q = q.view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = k.view(b, n, self.heads, self.head_dim).transpose(1, 2)
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.head_dim), dim=-1)


def token_weights(plan: torch.Tensor) -> torch.Tensor:
    """(B, h, N, N) plans -> (B, N) weights: head-averaged column marginal x N (weights average 1).

    a[t] = mean_i P[i, t] is how much transport mass token t receives. The official "cross-modal"
    product reduces exactly to these intra-modal marginals (times N_T/N_S), see docs/sembridge.md.
    """
    n = plan.shape[-1]
    return plan.mean(dim=2).mean(dim=1) * n


def refine(tokens: torch.Tensor, weights: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """z~ = kappa (w * z), kappa = ||mean_n z_n|| / ||mean_n w_n z_n|| per sample (energy preservation)."""
    weighted = weights.unsqueeze(-1) * tokens
    kappa = tokens.mean(dim=1).norm(dim=-1) / weighted.mean(dim=1).norm(dim=-1).clamp_min(eps)
    return kappa.view(-1, 1, 1) * weighted


def pool_tokens(tokens: torch.Tensor, n: int) -> torch.Tensor:
    """Average-pool (B, N, C) tokens to (B, n, C): on the square token grid when N and n are squares."""
    b, big_n, c = tokens.shape
    if big_n == n:
        return tokens
    s, t = math.isqrt(big_n), math.isqrt(n)
    if s * s == big_n and t * t == n:
        grid = tokens.transpose(1, 2).reshape(b, c, s, s)
        return F.adaptive_avg_pool2d(grid, t).flatten(2).transpose(1, 2)
    return F.adaptive_avg_pool1d(tokens.transpose(1, 2), n).transpose(1, 2)
