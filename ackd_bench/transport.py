"""Transport costs between a student and its partner teachers that mean the same across networks (POT).

A teacher and a student are independently trained networks: their embedding spaces share no coordinates
(permuting the teacher's last-layer channels, with the matching fc change, leaves every prediction unchanged
but moves every embedding). The headline costs therefore use only what the two networks share or what does not
depend on coordinates (definitions in docs/results-schema.md, "transport"):

- `w2_prob`: Wasserstein-2 between the class-probability vectors softmax(logits / T) of the two sides (the
  class axis is shared). Ground cost squared Euclidean (at most 2 between probability vectors).
- `gw`: Gromov-Wasserstein between the two embedding SETS: each side's own distance matrix (Euclidean between
  its L2-normalised embeddings, in [0, 2]), square loss, gw = sqrt(min_P sum (D^t_ik - D^s_jl)^2 P_ij P_kl).
  Invariant to any isometry (rotation, channel permutation) of either space.
- `pair_cost`: the pairing itself as a transport plan, sqrt(mean_i ||p_s(i) - p_t(partner(i))||^2) in
  probability space. A distribution-level W2 does not depend on who is paired with whom; this does. When the
  teacher side is exactly the partners (row-aligned), the pairing is a feasible coupling, so
  w2_prob <= pair_cost, and the gap is how far the pairing is from the optimal one.
- `w2_embed_diag`: the old W2 between L2-normalised embeddings of the two networks. A DIAGNOSTIC only: it
  changes under a channel permutation of the teacher and CORAL-style losses lower it by construction. None when
  the two embedding dimensions differ.

Solvers for the two W2 costs: method="exact" is POT's network simplex (`ot.emd2`); hitting `numItermax` (or any
result_code other than 1) raises TransportError: a truncated plan is never returned as a number.
method="sinkhorn" is `ot.sinkhorn2` on the cost divided by its largest possible value (so `reg` means the same
everywhere). Its plan is feasible, so it is never cheaper; with uniform weights on n and m points its squared
value exceeds the exact one by at most scale * reg * log(min(n, m)) (scale = 2 for probability vectors, 4 for
unit vectors), see `sinkhorn_bias_bound`. GW always uses conditional gradient with exact inner problems
(`ot.gromov.gromov_wasserstein2`): GW is non-convex, so the value is the local optimum reached from the product
coupling (deterministic), an upper bound on the true GW.

numpy arrays run on POT's numpy backend; torch tensors on POT's torch backend on their own device (emd2
itself is CPU-only in POT and copies; sinkhorn stays on the GPU).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ackd_bench.errors import AckdError

PROB_COST_SCALE = 2.0  # max squared distance between probability vectors
EMBED_COST_SCALE = 4.0  # max squared distance between unit vectors
GW_DIST_SCALE = 2.0  # max Euclidean distance between unit vectors (the GW matrices are divided by it)
DEFAULT_EXACT_ITER = 10_000_000
DEFAULT_SINKHORN_ITER = 100_000
DEFAULT_GW_ITER = 1_000  # conditional-gradient iterations
DEFAULT_TEMPERATURE = 3.0  # the `kd` baseline's T (methods/kd.py), the same for every method
GROUND_COSTS = {
    "w2_prob": "sqeuclidean between softmax(logits / temperature)",
    "gw": "square loss between Euclidean distance matrices of L2-normalised embeddings",
    "pair_cost": "sqrt of the mean sqeuclidean between softmax(logits / temperature) of each student and its partner",
    "w2_embed_diag": "sqeuclidean on L2-normalised embeddings (coordinate-dependent diagnostic)",
}
HEADLINE = ("w2_prob", "gw", "pair_cost")
METHODS = ("exact", "sinkhorn")


class TransportError(AckdError):
    """An OT solver did not reach its optimum: the value would be wrong, so none is returned."""


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _float64(x: Any) -> Any:
    if _is_torch(x):
        return x.detach().double()
    return np.asarray(x, dtype=np.float64)


def _normalise(x: Any) -> Any:
    """Row-wise L2 normalisation in float64 (numpy or torch, same device)."""
    x = _float64(x)
    if _is_torch(x):
        return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def softmax(logits: Any, temperature: float) -> Any:
    """softmax(logits / temperature) per row, in float64 (numpy or torch)."""
    if not temperature > 0:
        raise TransportError(f"temperature must be > 0, got {temperature}")
    z = _float64(logits) / float(temperature)
    if _is_torch(z):
        return z.softmax(dim=1)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _uniform(n: int, like: Any) -> Any:
    if _is_torch(like):
        import torch

        return torch.full((n,), 1.0 / n, dtype=torch.float64, device=like.device)
    return np.full(n, 1.0 / n)


def _same_backend(x: Any, y: Any) -> tuple[Any, Any]:
    if _is_torch(x) != _is_torch(y):
        raise TransportError("x and y must both be numpy arrays or both torch tensors")
    if _is_torch(y):
        y = y.to(x.device)
    return x, y


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise TransportError(f"unknown transport method {method!r} (exact, sinkhorn)")


def sinkhorn_bias_bound(reg: float, n: int, m: int, scale: float) -> float:
    """Upper bound on W2_sinkhorn^2 - W2_exact^2 for uniform weights on n and m points (see the module doc).

    The entropic plan P minimises <P, C/s> - reg H(P); comparing with the exact plan P* gives
    <P, C/s> - <P*, C/s> <= reg (H(P) - H(P*)) <= reg min(H(a), H(b)) = reg log(min(n, m)).
    """
    return float(scale) * float(reg) * math.log(min(int(n), int(m)))


def wasserstein(
    x: Any, y: Any, method: str = "exact", reg: float = 0.05, max_iter: int | None = None, *, normalise: bool = True
) -> dict:
    """W2 between the empirical distributions of rows of `x` and `y`.

    With `normalise` (embeddings) rows are L2-normalised first and the Sinkhorn cost scale is 4; without it
    (probability vectors) the scale is 2. Returns {"w", "method", "reg" (None for exact), "iterations"
    (sinkhorn) or None, "n": [len(x), len(y)]}.
    """
    import ot

    _check_method(method)
    if len(x) == 0 or len(y) == 0:
        raise TransportError("wasserstein needs at least one sample on each side")
    x, y = _same_backend(*((_normalise(x), _normalise(y)) if normalise else (_float64(x), _float64(y))))
    scale = EMBED_COST_SCALE if normalise else PROB_COST_SCALE
    cost = ot.dist(x, y, metric="sqeuclidean")
    a, b = _uniform(len(x), x), _uniform(len(y), y)
    if method == "exact":
        value, iterations, reg_out = _exact(a, b, cost, max_iter or DEFAULT_EXACT_ITER), None, None
    else:
        value, iterations = _sinkhorn(a, b, cost / scale, reg, max_iter or DEFAULT_SINKHORN_ITER)
        value, reg_out = value * scale, float(reg)
    return {
        "w": math.sqrt(max(value, 0.0)),
        "method": method,
        "reg": reg_out,
        "iterations": iterations,
        "n": [int(len(x)), int(len(y))],
    }


def gromov_wasserstein(x: Any, y: Any, max_iter: int | None = None) -> dict:
    """GW between the embedding sets `x` and `y` (rows L2-normalised, Euclidean distance matrices, square loss).

    Solved by conditional gradient with exact inner problems (`ot.gromov.gromov_wasserstein2`) from the product
    coupling, whatever the W2 method: POT's entropic GW was far slower here and failed to converge at small reg.
    Both matrices are divided by 2 (their largest possible entry) before solving and the value scaled back.
    Returns {"gw": sqrt of the GW objective at the solver's (local) optimum, "iterations", "n"}.
    """
    import ot

    if len(x) == 0 or len(y) == 0:
        raise TransportError("gromov_wasserstein needs at least one sample on each side")
    x, y = _same_backend(_normalise(x), _normalise(y))
    c1 = ot.dist(x, x, metric="euclidean") / GW_DIST_SCALE
    c2 = ot.dist(y, y, metric="euclidean") / GW_DIST_SCALE
    p, q = _uniform(len(x), x), _uniform(len(y), y)
    outer = int(max_iter or DEFAULT_GW_ITER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, log = ot.gromov.gromov_wasserstein2(
            c1, c2, p, q, loss_fun="square_loss", log=True, max_iter=outer, numItermaxEmd=DEFAULT_EXACT_ITER
        )
    iterations = len(log.get("loss", [])) - 1
    messages = [
        str(w.message) for w in caught if "numitermax" in str(w.message).lower() or "optimal" in str(w.message).lower()
    ]
    if log.get("result_code", 1) != 1 or iterations >= outer or messages:
        reason = messages[0] if messages else f"{outer} conditional-gradient iterations"
        raise TransportError(f"Gromov-Wasserstein did not converge: {reason}")
    value = float(value) * GW_DIST_SCALE**2
    if not math.isfinite(value):
        raise TransportError("Gromov-Wasserstein returned a non-finite value")
    return {"gw": math.sqrt(max(value, 0.0)), "iterations": int(iterations), "n": [int(len(x)), int(len(y))]}


def pair_cost(p_teacher: Any, p_student: Any) -> float:
    """sqrt(mean_i ||p_student[i] - p_teacher[i]||^2): row i of each side is one (student, partner) pair."""
    if len(p_teacher) != len(p_student) or len(p_student) == 0:
        raise TransportError("pair_cost needs the same, non-zero number of rows on both sides (one per pair)")
    t, s = _same_backend(_float64(p_teacher), _float64(p_student))
    value = float(((t - s) ** 2).sum(1).mean())
    return math.sqrt(max(value, 0.0))


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
        value, log = ot.sinkhorn2(a, b, cost, reg, numItermax=int(max_iter), log=True, warn=True)
    niter = int(log.get("niter", 0))
    not_converged = [str(w.message) for w in caught if "converge" in str(w.message).lower()]
    if not_converged or niter >= int(max_iter):
        raise TransportError(f"sinkhorn (reg={reg}, numItermax={int(max_iter)}) did not converge")
    value = float(value)
    if not math.isfinite(value):
        raise TransportError(f"sinkhorn (reg={reg}) returned a non-finite cost; use a larger reg")
    return value, niter


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


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _one_class(
    t_logits: Any,
    t_emb: Any,
    s_logits: Any,
    s_emb: Any,
    aligned: bool,
    temperature: float,
    method: str,
    reg: float,
    max_iter: int | None,
) -> dict:
    p_t, p_s = softmax(t_logits, temperature), softmax(s_logits, temperature)
    w2 = wasserstein(p_t, p_s, method=method, reg=reg, max_iter=max_iter, normalise=False)
    gw = gromov_wasserstein(t_emb, s_emb)
    diag = None  # undefined when the two embedding dimensions differ (GW does not need them equal)
    if t_emb.shape[1] == s_emb.shape[1]:
        diag = wasserstein(t_emb, s_emb, method=method, reg=reg, max_iter=max_iter)["w"]
    return {
        "w2_prob": w2["w"],
        "gw": gw["gw"],
        "pair_cost": pair_cost(p_t, p_s) if aligned else None,
        "w2_embed_diag": diag,
        "n": w2["n"],
    }


def class_costs(
    teacher_logits: Any,
    teacher_emb: Any,
    teacher_labels: Any,
    student_logits: Any,
    student_emb: Any,
    student_labels: Any,
    *,
    aligned: bool = False,
    classes: list[str] | None = None,
    method: str = "exact",
    n_max: int | None = 500,
    reg: float = 0.05,
    seed: int = 0,
    max_iter: int | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
) -> dict:
    """Per-class costs (module doc) between a teacher side and a student side, and their means over classes.

    `aligned=True`: row i of the teacher side is the partner of student i (a pairing; the teacher side is the
    multiset of partners, grouped by the student's class), so the pair-level cost exists and one subsample of
    pairs is drawn per class. Else the sides are independent sets (e.g. each class's whole teacher pool) and
    `pair_cost` is None. Classes missing on either side are left out of `per_class` and the means. Returns
    {"w2_prob", "gw", "pair_cost", "w2_embed_diag" (unweighted means over classes), "per_class": {class: {the
    same keys}}, "n_per_class"}.
    """
    _check_method(method)
    t_lab, s_lab = _labels(teacher_labels), _labels(student_labels)
    if (
        len(t_lab) != len(teacher_emb)
        or len(t_lab) != len(teacher_logits)
        or len(s_lab) != len(student_emb)
        or len(s_lab) != len(student_logits)
    ):
        raise TransportError("embeddings, logits and labels differ in length")
    if aligned and len(t_lab) != len(s_lab):
        raise TransportError("aligned sides need one partner row per student row")
    if aligned:  # grouped by the student's class (a free pairing may pick a partner of another class)
        t_lab = s_lab
    if classes is None:
        top = int(max(t_lab.max(initial=-1), s_lab.max(initial=-1))) + 1
        classes = [str(i) for i in range(top)]
    per_class: dict[str, dict] = {}
    counts: dict[str, list[int]] = {}
    for label, name in enumerate(classes):
        t_rows, s_rows = np.flatnonzero(t_lab == label), np.flatnonzero(s_lab == label)
        if len(t_rows) == 0 or len(s_rows) == 0:
            continue
        if aligned:  # keep pairs together
            t_rows = s_rows = s_rows[_subsample(len(s_rows), n_max, seed, 2 * label + 1)]
        else:
            t_rows = t_rows[_subsample(len(t_rows), n_max, seed, 2 * label)]
            s_rows = s_rows[_subsample(len(s_rows), n_max, seed, 2 * label + 1)]
        res = _one_class(
            _take(teacher_logits, t_rows),
            _take(teacher_emb, t_rows),
            _take(student_logits, s_rows),
            _take(student_emb, s_rows),
            aligned,
            temperature,
            method,
            reg,
            max_iter,
        )
        counts[name] = res.pop("n")
        per_class[name] = res
    out = {k: _mean([c[k] for c in per_class.values()]) for k in (*HEADLINE, "w2_embed_diag")}
    return {**out, "per_class": per_class, "n_per_class": counts}


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
