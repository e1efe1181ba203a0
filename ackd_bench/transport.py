"""Wasserstein transport costs between teacher and student embedding distributions (POT).

Definition (see docs/results-schema.md, "transport"): both sides are L2-normalised, the ground cost is the
squared Euclidean distance C_ij = ||t_i - s_j||^2 (in [0, 4]), weights are uniform, and

    W2 = sqrt( min_{P in U(a, b)} <P, C> )

- method="exact": POT's network simplex (`ot.emd2`). Stopping at `numItermax` before optimality, or any
  result_code other than 1, raises TransportError; a truncated plan is never returned as a number.
- method="sinkhorn": `ot.sinkhorn2` with entropic `reg` on the STATED cost C / 4 (the largest possible value
  for unit vectors, so `reg` means the same for every class and epoch); W2 = sqrt(4 * <P_reg, C/4>).
  It is biased upward versus exact (environment.md). Not converging within `max_iter` raises TransportError.

numpy arrays run on POT's numpy backend; torch tensors run on POT's torch backend on their own device
(emd2 itself is CPU-only in POT and copies; sinkhorn stays on the GPU).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ackd_bench.errors import AckdError

GROUND_COST = "sqeuclidean on L2-normalised embeddings"
SINKHORN_COST_SCALE = 4.0  # max squared distance between unit vectors
DEFAULT_EXACT_ITER = 10_000_000
DEFAULT_SINKHORN_ITER = 100_000


class TransportError(AckdError):
    """An OT solver did not reach its optimum: the value would be wrong, so none is returned."""


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _normalise(x: Any) -> Any:
    """Row-wise L2 normalisation in float64 (numpy or torch, same device)."""
    if _is_torch(x):
        x = x.detach().double()
        return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _uniform(n: int, like: Any) -> Any:
    if _is_torch(like):
        import torch

        return torch.full((n,), 1.0 / n, dtype=torch.float64, device=like.device)
    return np.full(n, 1.0 / n)


def wasserstein(
    x: Any,
    y: Any,
    method: str = "exact",
    reg: float = 0.05,
    max_iter: int | None = None,
) -> dict:
    """W2 between the empirical distributions of rows of `x` and `y` (both L2-normalised first).

    Returns {"w": float, "method", "reg" (None for exact), "iterations" (sinkhorn) or None, "n": [len(x), len(y)]}.
    """
    import ot

    if len(x) == 0 or len(y) == 0:
        raise TransportError("wasserstein needs at least one sample on each side")
    x, y = _normalise(x), _normalise(y)
    if _is_torch(x) != _is_torch(y):
        raise TransportError("x and y must both be numpy arrays or both torch tensors")
    if _is_torch(y):
        y = y.to(x.device)
    cost = ot.dist(x, y, metric="sqeuclidean")
    a, b = _uniform(len(x), x), _uniform(len(y), y)
    if method == "exact":
        value, iterations = _exact(a, b, cost, max_iter or DEFAULT_EXACT_ITER), None
        reg_out = None
    elif method == "sinkhorn":
        value, iterations = _sinkhorn(a, b, cost, reg, max_iter or DEFAULT_SINKHORN_ITER)
        reg_out = float(reg)
    else:
        raise TransportError(f"unknown transport method {method!r} (exact, sinkhorn)")
    return {"w": math.sqrt(max(value, 0.0)), "method": method, "reg": reg_out,
            "iterations": iterations, "n": [int(len(x)), int(len(y))]}


def _exact(a: Any, b: Any, cost: Any, max_iter: int) -> float:
    import ot

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, log = ot.emd2(a, b, cost, numItermax=int(max_iter), log=True)
    messages = [str(w.message) for w in caught if "numItermax" in str(w.message) or "optimal" in str(w.message)]
    if log.get("result_code") != 1 or messages or log.get("warning"):
        reason = log.get("warning") or (messages[0] if messages else f"result_code {log.get('result_code')}")
        raise TransportError(f"exact OT (emd2, numItermax={int(max_iter)}) did not reach the optimum: {reason}")
    return float(value)


def _sinkhorn(a: Any, b: Any, cost: Any, reg: float, max_iter: int) -> tuple[float, int]:
    import ot

    if not reg > 0:
        raise TransportError(f"sinkhorn needs reg > 0, got {reg}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, log = ot.sinkhorn2(a, b, cost / SINKHORN_COST_SCALE, reg, numItermax=int(max_iter), log=True, warn=True)
    niter = int(log.get("niter", 0))
    not_converged = [str(w.message) for w in caught if "converge" in str(w.message).lower()]
    if not_converged or niter >= int(max_iter):
        raise TransportError(f"sinkhorn (reg={reg}, numItermax={int(max_iter)}) did not converge")
    value = float(value)
    if not math.isfinite(value):
        raise TransportError(f"sinkhorn (reg={reg}) returned a non-finite cost; use a larger reg")
    return value * SINKHORN_COST_SCALE, niter


def _subsample(n: int, n_max: int | None, seed: int, label: int) -> np.ndarray:
    """Sorted row indices: all rows, or a seeded subsample of n_max (independent per class)."""
    if n_max is None or n <= n_max:
        return np.arange(n)
    rng = np.random.default_rng([int(seed), int(label)])
    return np.sort(rng.choice(n, size=int(n_max), replace=False))


def _take(x: Any, idx: np.ndarray) -> Any:
    if _is_torch(x):
        import torch

        return x[torch.as_tensor(idx, device=x.device)]
    return np.asarray(x)[idx]


def _labels(v: Any) -> np.ndarray:
    if _is_torch(v):
        v = v.detach().cpu().numpy()
    return np.asarray(v).astype(np.int64)


def _per_class(t_emb: Any, s_emb: Any, t_lab: np.ndarray, s_lab: np.ndarray, classes: list[str],
               method: str, n_max: int | None, reg: float, seed: int, max_iter: int | None) -> dict:
    per_class: dict[str, float] = {}
    counts: dict[str, list[int]] = {}
    iterations: dict[str, int] = {}
    for label, name in enumerate(classes):
        t_rows, s_rows = np.flatnonzero(t_lab == label), np.flatnonzero(s_lab == label)
        if len(t_rows) == 0 or len(s_rows) == 0:
            continue
        t_rows = t_rows[_subsample(len(t_rows), n_max, seed, 2 * label)]
        s_rows = s_rows[_subsample(len(s_rows), n_max, seed, 2 * label + 1)]
        res = wasserstein(_take(t_emb, t_rows), _take(s_emb, s_rows), method=method, reg=reg, max_iter=max_iter)
        per_class[name] = res["w"]
        counts[name] = res["n"]
        if res["iterations"] is not None:
            iterations[name] = res["iterations"]
    mean = float(np.mean(list(per_class.values()))) if per_class else None
    return {"per_class": per_class, "n_per_class": counts, "mean": mean,
            "iterations": iterations or None}


def class_costs(
    teacher_emb: Any,
    student_emb: Any,
    teacher_labels: Any,
    student_labels: Any,
    *,
    classes: list[str] | None = None,
    method: str = "exact",
    n_max: int | None = 500,
    reg: float = 0.05,
    seed: int = 0,
    max_iter: int | None = None,
    sckd_teacher_emb: Any = None,
    sckd_teacher_labels: Any = None,
) -> dict:
    """Per-class W2 between teacher and student embeddings, and their unweighted mean over classes.

    Row i of the teacher side is one teacher sample (with multiplicity: under a pairing, pass the partner
    teacher of every student sample). Classes missing on either side are left out of `per_class` and the mean.
    With `sckd_teacher_emb` (e.g. the SCKD-paired teacher tile of every student sample), the same computation
    against those goes under "sckd"; otherwise "sckd" is None. The dict is documented in docs/results-schema.md.
    """
    t_lab, s_lab = _labels(teacher_labels), _labels(student_labels)
    if classes is None:
        top = int(max(t_lab.max(initial=-1), s_lab.max(initial=-1))) + 1
        classes = [str(i) for i in range(top)]
    if len(t_lab) != len(teacher_emb) or len(s_lab) != len(student_emb):
        raise TransportError("embeddings and labels differ in length")
    args = (list(classes), method, n_max, reg, seed, max_iter)
    out = {"method": method, "metric": "W2", "ground_cost": GROUND_COST, "n_max": n_max,
           "reg": float(reg) if method == "sinkhorn" else None, "seed": int(seed)}
    out.update(_per_class(teacher_emb, student_emb, t_lab, s_lab, *args))
    out["sckd"] = None
    if sckd_teacher_emb is not None:
        sckd_lab = _labels(sckd_teacher_labels if sckd_teacher_labels is not None else student_labels)
        out["sckd"] = _per_class(sckd_teacher_emb, student_emb, sckd_lab, s_lab, *args)
    return out


def partner_rows(student_ids: list[str], teacher_ids: list[str], pairs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rows (student_row, teacher_row) for every student that `pairs` (student_id, teacher_id) pairs.

    Students without a partner in `pairs` are left out; unknown teacher ids raise TransportError.
    """
    t_index = {tid: i for i, tid in enumerate(teacher_ids)}
    partner = dict(zip(pairs["student_id"].astype(str), pairs["teacher_id"].astype(str)))
    s_rows, t_rows = [], []
    for i, sid in enumerate(student_ids):
        tid = partner.get(str(sid))
        if tid is None:
            continue
        if tid not in t_index:
            raise TransportError(f"pairing names teacher {tid!r}, which has no embedding")
        s_rows.append(i)
        t_rows.append(t_index[tid])
    return np.asarray(s_rows, dtype=np.int64), np.asarray(t_rows, dtype=np.int64)
