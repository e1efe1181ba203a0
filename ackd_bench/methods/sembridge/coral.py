"""CORAL: squared Frobenius distance between feature covariances.

- "deep_coral" (default, Sun & Saenko 2016): C = Xc^T Xc / (B-1), loss = ||C_S - C_T||_F^2 / (4 d^2).
- "official" (ACKD code): C = Xc^T Xc (unnormalised scatter), loss = ||C_S - C_T||_F^2 / (4 d^3).
Xc is X minus its batch mean; d the feature dimension.

The two differ by exactly (B-1)^2 / d: official = deep_coral * (B-1)^2 / d. The official weight 0.003
(0.3 * 0.01) was tuned for the official formula at the official batch 256, so each scale carries its own
weight (`term_weight`): the official one keeps 0.003; Deep CORAL's is calibrated per term,
w(d) = 0.003 * 255^2 / d, so that at batch 256 the weighted Deep CORAL term equals the weighted official term
exactly, and at any other batch it keeps that value per unit of covariance difference (Deep CORAL does not
grow with (B-1)^2 the way the unnormalised scatter does).

When d > B the d x d covariances are never formed: with A = Xs, G = Xt,
||A^T A - G^T G||_F^2 = ||A A^T||_F^2 + ||G G^T||_F^2 - 2 ||A G^T||_F^2 (B x B Gram matrices),
which costs O(B^2 d) instead of O(B d^2) (8,192-d tokens at batch 256: ~30x fewer FLOPs).
"""

from __future__ import annotations

import torch

from ackd_bench.config import OFFICIAL_OT_WEIGHT

SCALES = ("deep_coral", "official")
OFFICIAL_WEIGHT = OFFICIAL_OT_WEIGHT  # official train.py: lam_ot 0.3 * ot_weights 0.01, for the official formula
OFFICIAL_BATCH = 256  # official main_config.py batch, at which OFFICIAL_WEIGHT was tuned
CALIBRATED = "calibrated"


def calibrated_weight(dim: int) -> float:
    """Deep CORAL weight of a term of dimension `dim` equivalent to the official weight at the official batch:
    OFFICIAL_WEIGHT * (OFFICIAL_BATCH - 1)^2 / dim (0.381 for 512-d embeddings, 0.0952 for 2,048-d tokens)."""
    return OFFICIAL_WEIGHT * (OFFICIAL_BATCH - 1) ** 2 / int(dim)


def term_weight(scale: str, weight: float | str, dim: int) -> float:
    """The weight of one CORAL term: `weight` as a number, or the calibrated Deep CORAL weight for `dim`."""
    if weight == CALIBRATED:
        if scale != "deep_coral":
            raise ValueError(f"a {CALIBRATED!r} weight exists for deep_coral only, not {scale!r}")
        return calibrated_weight(dim)
    return float(weight)


def _centre(x: torch.Tensor) -> torch.Tensor:
    x = x.flatten(1).float()
    return x - x.mean(dim=0, keepdim=True)


def coral(source: torch.Tensor, target: torch.Tensor, scale: str = "deep_coral") -> torch.Tensor:
    """CORAL loss between two (B, ...) feature batches (flattened to (B, d))."""
    if scale not in SCALES:
        raise ValueError(f"unknown CORAL scale {scale!r} (known: {', '.join(SCALES)})")
    xs, xt = _centre(source), _centre(target)
    if xs.shape != xt.shape:
        raise ValueError(f"CORAL inputs differ in shape: {tuple(xs.shape)} vs {tuple(xt.shape)}")
    b, d = xs.shape
    if b < 2:
        return (xs.sum() + xt.sum()) * 0.0  # covariance undefined; keep the graph
    if d > b:
        diff2 = ((xs @ xs.T).square().sum() + (xt @ xt.T).square().sum() - 2.0 * (xs @ xt.T).square().sum()).clamp_min(
            0.0
        )
    else:
        diff2 = (xs.T @ xs - xt.T @ xt).square().sum()
    if scale == "deep_coral":
        return diff2 / (b - 1) ** 2 / (4.0 * d * d)
    return diff2 / (4.0 * d**3)
