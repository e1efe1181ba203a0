"""Golden values for every loss: each expected value is re-derived here with plain numpy loops or by hand,
never by calling ackd_bench code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ackd_bench.methods import TeacherOutput, build_method
from ackd_bench.methods.ctkd import CTKD, cosine_lambda
from ackd_bench.methods.distilvpr import distilvpr_terms
from ackd_bench.methods.dkd import dkd_terms
from ackd_bench.methods.kd import kd_loss
from ackd_bench.methods.logits import logits_loss
from ackd_bench.methods.lskd import lskd_loss, zscore
from ackd_bench.methods.rkd import rkd_angle_loss, rkd_distance_loss
from ackd_bench.models import BackboneOutput

torch.set_num_threads(1)

RNG = np.random.default_rng(1234)
B, K, D = 4, 5, 6
S_LOGITS = RNG.normal(size=(B, K)) * 2.0
T_LOGITS = RNG.normal(size=(B, K)) * 2.0
S_EMB = RNG.normal(size=(B, D))
T_EMB = RNG.normal(size=(B, D)) * 1.5
LABELS = np.array([0, 3, 1, 4])


def tt(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


def close(actual: torch.Tensor | float, expected: float, rtol: float = 1e-9) -> None:
    actual = float(actual.detach()) if isinstance(actual, torch.Tensor) else float(actual)
    assert actual == pytest.approx(expected, rel=rtol, abs=1e-12)


# ----------------------------------------------------------------------------- numpy references
def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def np_kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0))


def np_kd(s: np.ndarray, t: np.ndarray, T: float, t2: bool) -> float:
    loss = sum(np_kl(np_softmax(t[b] / T), np_softmax(s[b] / T)) for b in range(len(s))) / len(s)
    return loss * T * T if t2 else loss


def np_ce(s: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([-math.log(np_softmax(s[b])[y[b]]) for b in range(len(s))]))


def np_smooth_l1(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(np.asarray(a) - np.asarray(b)).ravel()
    return float(np.mean([0.5 * x * x if x < 1.0 else x - 0.5 for x in d]))


def np_dist_matrix(e: np.ndarray) -> np.ndarray:
    n = len(e)
    return np.array([[math.sqrt(sum((e[i] - e[j]) ** 2)) for j in range(n)] for i in range(n)])


def np_angles(e: np.ndarray) -> np.ndarray:
    n = len(e)
    out = np.zeros((n, n, n))
    for j in range(n):  # vertex
        for i in range(n):
            for k in range(n):
                if i == j or k == j:
                    continue  # degenerate triplet: cosine 0 by convention
                a, c = e[i] - e[j], e[k] - e[j]
                out[j, i, k] = a @ c / (np.linalg.norm(a) * np.linalg.norm(c))
    return out


def s_out(logits: np.ndarray, emb: np.ndarray | None = None) -> BackboneOutput:
    emb = emb if emb is not None else np.zeros((len(logits), D))
    return BackboneOutput(torch.zeros(len(logits), 1, 8, dtype=torch.float64), tt(emb), tt(logits))


def t_out(logits: np.ndarray, emb: np.ndarray | None = None) -> TeacherOutput:
    emb = emb if emb is not None else np.zeros((len(logits), D))
    return TeacherOutput(tt(logits), tt(emb), None)


# ----------------------------------------------------------------------------- KD
def test_kd_hand_derived_two_classes():
    # s = [0, 0] -> p_s = [1/2, 1/2]; t = [ln 3, 0] -> p_t = [3/4, 1/4] at T = 1
    s, t = tt(np.array([[0.0, 0.0]])), tt(np.array([[math.log(3.0), 0.0]]))
    close(kd_loss(s, t, 1.0, False), 0.75 * math.log(1.5) + 0.25 * math.log(0.5))
    # T = 2: p_t = [sqrt3, 1] / (1 + sqrt3); the T^2 flag multiplies by 4
    r3 = math.sqrt(3.0)
    p = [r3 / (1 + r3), 1 / (1 + r3)]
    expected = p[0] * math.log(2 * p[0]) + p[1] * math.log(2 * p[1])
    close(kd_loss(s, t, 2.0, False), expected)
    close(kd_loss(s, t, 2.0, True), 4.0 * expected)
    close(kd_loss(t, t, 2.0, True), 0.0)


@pytest.mark.parametrize("t2", [False, True])
def test_kd_method_golden(t2: bool):
    m = build_method("kd", torch.nn.Identity(), K, {"method_args": {"t2": t2}})
    losses = m.compute_losses(s_out(S_LOGITS), t_out(T_LOGITS), torch.tensor(LABELS))
    close(losses["ce"], 0.3 * np_ce(S_LOGITS, LABELS))
    close(losses["kd"], 0.4 * np_kd(S_LOGITS, T_LOGITS, 3.0, t2))
    assert set(losses) == {"ce", "kd"}


def test_loss_weights_from_cfg():
    m = build_method("kd", torch.nn.Identity(), K, {"w_ce": 0.5, "w_kd": 2.0, "method_args": {"T": 4}})
    losses = m.compute_losses(s_out(S_LOGITS), t_out(T_LOGITS), torch.tensor(LABELS))
    close(losses["ce"], 0.5 * np_ce(S_LOGITS, LABELS))
    close(losses["kd"], 2.0 * np_kd(S_LOGITS, T_LOGITS, 4.0, False))


def test_student_is_plain_ce_weight_one():
    m = build_method("student", torch.nn.Identity(), K, {"w_ce": 0.3})
    losses = m.compute_losses(s_out(S_LOGITS), None, torch.tensor(LABELS))
    assert set(losses) == {"ce"}
    close(losses["ce"], np_ce(S_LOGITS, LABELS))


# ----------------------------------------------------------------------------- Logits
def test_logits_golden():
    expected = float(np.mean((S_LOGITS - T_LOGITS) ** 2))
    close(logits_loss(tt(S_LOGITS), tt(T_LOGITS), 1.0), expected)
    m = build_method("logits", torch.nn.Identity(), K, {})
    losses = m.compute_losses(s_out(S_LOGITS), t_out(T_LOGITS), torch.tensor(LABELS))
    close(losses["kd"], 0.4 * 0.01 * expected)
    # hand: s = [1, 2], t = [3, 2] -> mean((-2)^2, 0) = 2
    close(logits_loss(tt(np.array([[1.0, 2.0]])), tt(np.array([[3.0, 2.0]])), 1.0), 2.0)


# ----------------------------------------------------------------------------- RKD
def test_rkd_distance_golden():
    d_s, d_t = np_dist_matrix(S_EMB), np_dist_matrix(T_EMB)
    off = ~np.eye(B, dtype=bool)
    expected = np_smooth_l1(d_s / d_s[off].mean(), d_t / d_t[off].mean())
    close(rkd_distance_loss(tt(S_EMB), tt(T_EMB)), expected, rtol=1e-7)


def test_rkd_angle_golden():
    expected = np_smooth_l1(np_angles(S_EMB), np_angles(T_EMB))
    close(rkd_angle_loss(tt(S_EMB), tt(T_EMB)), expected, rtol=1e-7)


def test_rkd_hand_derived():
    # a right isoceles triangle vs an equilateral one (2-d points)
    s = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    t = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    # distances: s has 1, 1, sqrt2 (mean (2+sqrt2)/3), t has 1, 1, 1
    m = (2 + math.sqrt(2)) / 3
    diffs = [1 / m - 1, 1 / m - 1, math.sqrt(2) / m - 1]  # each appears twice in the 3x3 matrix
    close(rkd_distance_loss(tt(s), tt(t)), 2 * sum(0.5 * x * x for x in diffs) / 9, rtol=1e-7)
    # angles: s cosines at vertices: 0 (right angle), cos45 twice; t: cos60 = 0.5 at every vertex.
    # each vertex has 2 ordered (i,k) pairs with i != k (same cosine) and 2 with i == k (cosine 1 in both)
    c45 = math.sqrt(0.5)
    per_vertex = [0.0 - 0.5, c45 - 0.5, c45 - 0.5]
    close(rkd_angle_loss(tt(s), tt(t)), sum(2 * 0.5 * x * x for x in per_vertex) / 27, rtol=1e-7)
    # scale invariance: a scaled copy of the student is a perfect teacher for both terms
    close(rkd_distance_loss(tt(s), tt(3.0 * s)), 0.0)
    close(rkd_angle_loss(tt(s), tt(3.0 * s)), 0.0)


def test_rkd_method_weights():
    expected = 0.1 * (
        25.0
        * np_smooth_l1(
            np_dist_matrix(S_EMB) / np_dist_matrix(S_EMB)[~np.eye(B, dtype=bool)].mean(),
            np_dist_matrix(T_EMB) / np_dist_matrix(T_EMB)[~np.eye(B, dtype=bool)].mean(),
        )
        + 50.0 * np_smooth_l1(np_angles(S_EMB), np_angles(T_EMB))
    )
    m = build_method("rkd", torch.nn.Identity(), K, {})
    losses = m.compute_losses(s_out(S_LOGITS, S_EMB), t_out(T_LOGITS, T_EMB), torch.tensor(LABELS))
    close(losses["kd"], 0.4 * expected, rtol=1e-7)


# ----------------------------------------------------------------------------- DKD
def np_dkd(s: np.ndarray, t: np.ndarray, y: np.ndarray, T: float) -> tuple[float, float]:
    tckd = nckd = 0.0
    for b in range(len(s)):
        ps, pt = np_softmax(s[b] / T), np_softmax(t[b] / T)
        g = y[b]
        tckd += np_kl([pt[g], 1 - pt[g]], [ps[g], 1 - ps[g]])
        rest = [k for k in range(s.shape[1]) if k != g]
        nckd += np_kl(np_softmax(t[b, rest] / T), np_softmax(s[b, rest] / T))
    return tckd * T * T / len(s), nckd * T * T / len(s)


def test_dkd_terms_golden():
    tckd, nckd = dkd_terms(tt(S_LOGITS), tt(T_LOGITS), torch.tensor(LABELS), 4.0)
    e_tckd, e_nckd = np_dkd(S_LOGITS, T_LOGITS, LABELS, 4.0)
    close(tckd, e_tckd)
    close(nckd, e_nckd)


def test_dkd_hand_derived():
    # only the target logit differs -> non-target distributions equal -> NCKD = 0
    s = np.array([[0.0, 1.0, 2.0]])
    t = np.array([[3.0, 1.0, 2.0]])
    tckd, nckd = dkd_terms(tt(s), tt(t), torch.tensor([0]), 1.0)
    close(nckd, 0.0)
    # T = 1: p_t(target) = e^3 / (e^3 + e + e^2), p_s(target) = 1 / (1 + e + e^2)
    e = math.e
    pt, ps = e**3 / (e**3 + e + e * e), 1 / (1 + e + e * e)
    close(tckd, pt * math.log(pt / ps) + (1 - pt) * math.log((1 - pt) / (1 - ps)))


@pytest.mark.parametrize(
    "warmups,epochs,epoch,factor",
    [
        # 200 epochs: scaled = absolute = mdistiller (1-based epoch / 20)
        ("scaled", 200, 0, 1 / 20),
        ("scaled", 200, 4, 5 / 20),
        ("scaled", 200, 18, 19 / 20),
        ("scaled", 200, 19, 1.0),
        ("absolute", 200, 0, 1 / 20),
        ("absolute", 200, 150, 1.0),
        ("absolute", 8, 7, 8 / 20),
        # official ACKD train.py: min(epoch / 20, 1) with its 0-based epoch: nothing in the first epoch
        ("official", 200, 0, 0.0),
        ("official", 200, 4, 4 / 20),
        ("official", 200, 19, 19 / 20),
        ("official", 200, 20, 1.0),
        ("official", 8, 7, 7 / 20),
        # scaled to the run length like DynM: 100 epochs -> 10 warm-up epochs; 8 epochs -> 0.8 (full weight at once)
        ("scaled", 100, 0, 1 / 10),
        ("scaled", 100, 4, 5 / 10),
        ("scaled", 100, 9, 1.0),
        ("scaled", 8, 0, 1.0),
    ],
)
def test_dkd_warmup_golden(warmups: str, epochs: int, epoch: int, factor: float):
    m = build_method("dkd", torch.nn.Identity(), K, {"warmups": warmups})
    m.on_epoch_start(epoch, epochs)
    losses = m.compute_losses(s_out(S_LOGITS), t_out(T_LOGITS), torch.tensor(LABELS))
    e_tckd, e_nckd = np_dkd(S_LOGITS, T_LOGITS, LABELS, 4.0)
    close(losses["kd"], 0.4 * factor * (1.0 * e_tckd + 8.0 * e_nckd))


# ----------------------------------------------------------------------------- CTKD
def test_ctkd_temperature_at_theta_zero_and_loss():
    m = build_method("ctkd", torch.nn.Identity(), K, {})
    assert m.temperature.theta.item() == 0.0
    close(m.temperature(0.0), 11.0)  # 1 + (21 - 1) * sigmoid(0)
    m.temperature.double()
    losses = m.compute_losses(s_out(S_LOGITS), t_out(T_LOGITS), torch.tensor(LABELS))
    close(losses["kd"], 0.4 * np_kd(S_LOGITS, T_LOGITS, 11.0, True))
    close(losses["ce"], 0.3 * np_ce(S_LOGITS, LABELS))


def test_ctkd_temperature_range_and_theta():
    m = build_method("ctkd", torch.nn.Identity(), K, {"method_args": {"theta_init": 2.0}})
    close(m.temperature(1.0), 1.0 + 20.0 / (1.0 + math.exp(-2.0)), rtol=1e-6)
    with torch.no_grad():
        m.temperature.theta.fill_(-60.0)
    close(m.temperature(1.0), 1.0, rtol=1e-6)
    with torch.no_grad():
        m.temperature.theta.fill_(60.0)
    close(m.temperature(1.0), 21.0, rtol=1e-6)


@pytest.mark.parametrize(
    "warmups,epochs,epoch,lam",
    [
        ("absolute", 8, 1, (1 - math.cos(math.pi / 5)) / 2),
        ("official", 8, 1, (1 - math.cos(math.pi / 5)) / 2),
        ("scaled", 200, 1, (1 - math.cos(math.pi / 5)) / 2),
        ("scaled", 100, 1, (1 - math.cos(math.pi / 2.5)) / 2),
        ("scaled", 8, 0, 0.0),
        ("scaled", 8, 1, 1.0),
    ],
)
def test_ctkd_lambda_schedule_scales_with_the_run(warmups: str, epochs: int, epoch: int, lam: float):
    m = build_method("ctkd", torch.nn.Identity(), K, {"warmups": warmups})
    m.on_epoch_start(epoch, epochs)
    close(m.current_lambda(), lam)


def test_ctkd_cosine_curriculum():
    assert cosine_lambda(0, 5) == 0.0
    close(cosine_lambda(1, 5), (1 - math.cos(math.pi / 5)) / 2)
    close(cosine_lambda(5, 5), 1.0)
    close(cosine_lambda(40, 5), 1.0)
    m = CTKD(torch.nn.Identity(), K, {})
    values = []
    for epoch in range(7):
        m.on_epoch_start(epoch, 10)
        values.append(m.current_lambda())
    assert values == sorted(values) and values[0] == 0.0 and values[-1] == 1.0


# ----------------------------------------------------------------------------- LSKD
def np_zscore(z: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    return (z - z.mean()) / (z.std(ddof=1) + eps)


def test_lskd_standardisation_golden():
    z = zscore(tt(S_LOGITS))
    for b in range(B):
        np.testing.assert_allclose(z[b].numpy(), np_zscore(S_LOGITS[b]), rtol=1e-12)
    # hand: [1, 2, 3] -> mean 2, sample std 1 -> [-1, 0, 1]
    hand = zscore(tt(np.array([[1.0, 2.0, 3.0]]))).numpy()
    np.testing.assert_allclose(hand, [[-1.0, 0.0, 1.0]], atol=1e-6)


def test_lskd_golden():
    zs = np.stack([np_zscore(r) for r in S_LOGITS])
    zt = np.stack([np_zscore(r) for r in T_LOGITS])
    close(lskd_loss(tt(S_LOGITS), tt(T_LOGITS), 3.0), np_kd(zs, zt, 3.0, True))
    m = build_method("lskd", torch.nn.Identity(), K, {})
    losses = m.compute_losses(s_out(S_LOGITS), t_out(T_LOGITS), torch.tensor(LABELS))
    close(losses["kd"], 0.4 * 9.0 * np_kd(zs, zt, 3.0, False))
    # an affine (positive scale + shift) copy of the student is a perfect teacher after standardisation
    assert float(lskd_loss(tt(S_LOGITS), tt(5.0 * S_LOGITS - 2.0), 3.0)) < 1e-10


# ----------------------------------------------------------------------------- DistilVPR
C = 0.1


def np_expmap0(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return math.tanh(math.sqrt(C) * n) * v / (math.sqrt(C) * n)


def np_mobius_add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab, a2, b2 = a @ b, a @ a, b @ b
    return ((1 + 2 * C * ab + C * b2) * a + (1 - C * a2) * b) / (1 + 2 * C * ab + C * C * a2 * b2)


def np_poincare(x: np.ndarray, y: np.ndarray) -> float:
    return 2 / math.sqrt(C) * math.atanh(math.sqrt(C) * np.linalg.norm(np_mobius_add(-x, y)))


def np_relation(kind: str, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    out = np.zeros((len(X), len(Y)))
    for i in range(len(X)):
        for j in range(len(Y)):
            x, y = X[i], Y[j]
            if kind == "euclidean":
                out[i, j] = np.linalg.norm(x - y)
            elif kind == "cosine":
                out[i, j] = x @ y / (np.linalg.norm(x) * np.linalg.norm(y))
            else:
                out[i, j] = 0.0 if (X is Y and i == j) else np_poincare(np_expmap0(x), np_expmap0(y))
    return out


def np_vpr_term(kind: str, S: np.ndarray, T: np.ndarray) -> float:
    r_ss, r_st, r_tt = np_relation(kind, S, S), np_relation(kind, S, T), np_relation(kind, T, T)
    return float(np.mean((r_ss - r_st) ** 2) + np.mean((r_st - r_tt) ** 2))


def test_poincare_reference_matches_closed_form():
    """Sanity of the numpy reference: Mobius form == arcosh closed form of the geodesic distance."""
    x, y = np_expmap0(S_EMB[0]), np_expmap0(T_EMB[1])
    closed = math.acosh(1 + 2 * C * np.sum((x - y) ** 2) / ((1 - C * x @ x) * (1 - C * y @ y))) / math.sqrt(C)
    assert np_poincare(x, y) == pytest.approx(closed, rel=1e-9)


@pytest.mark.parametrize("kind", ["euclidean", "cosine", "poincare"])
def test_distilvpr_each_geometry_golden(kind: str):
    terms = distilvpr_terms(tt(S_EMB), tt(T_EMB), C)
    close(terms[kind], np_vpr_term(kind, S_EMB, T_EMB), rtol=1e-6)


def test_distilvpr_method_weights():
    m = build_method("distilvpr", torch.nn.Identity(), K, {"method_args": {"w_cosine": 0.5, "normalize": False}})
    losses = m.compute_losses(s_out(S_LOGITS, S_EMB), t_out(T_LOGITS, T_EMB), torch.tensor(LABELS))
    expected = sum(
        w * np_vpr_term(kind, S_EMB, T_EMB) for kind, w in (("euclidean", 0.1), ("cosine", 0.5), ("poincare", 0.1))
    )
    close(losses["kd"], 0.4 * expected, rtol=1e-6)


@pytest.mark.parametrize("args", [{}, {"normalize": True}])
def test_distilvpr_normalize_option(args):
    """L2-normalised embeddings are the default (and the explicit option)."""
    m = build_method("distilvpr", torch.nn.Identity(), K, {"method_args": args})
    losses = m.compute_losses(s_out(S_LOGITS, S_EMB), t_out(T_LOGITS, T_EMB), torch.tensor(LABELS))
    s_n = S_EMB / np.linalg.norm(S_EMB, axis=1, keepdims=True)
    t_n = T_EMB / np.linalg.norm(T_EMB, axis=1, keepdims=True)
    expected = sum(0.1 * np_vpr_term(kind, s_n, t_n) for kind in ("euclidean", "cosine", "poincare"))
    close(losses["kd"], 0.4 * expected, rtol=1e-6)


def test_distilvpr_hand_derived_euclidean():
    # S = {(0,0), (3,4)}: R_SS = [[0,5],[5,0]]; T = S -> R_ST = R_SS = R_TT -> 0
    s = np.array([[0.0, 0.0], [3.0, 4.0]])
    close(distilvpr_terms(tt(s), tt(s), C)["euclidean"], 0.0, rtol=1e-6)
    # T = S shifted by (0, 1) = {(0,1), (3,5)}: R_ST = [[1, sqrt(34)], [sqrt(18), 1]], R_SS = R_TT
    # both MSE terms see the same differences R_ST - R_SS
    t = s + np.array([0.0, 1.0])
    diffs = [1.0, math.sqrt(34) - 5, math.sqrt(18) - 5, 1.0]
    expected = 2 * sum(d * d for d in diffs) / 4
    assert float(distilvpr_terms(tt(s), tt(t), C)["euclidean"]) == pytest.approx(expected, rel=1e-6)


def test_distilvpr_stable_for_large_embeddings():
    """Points that the exponential map sends onto the ball's boundary stay finite (clamped artanh)."""
    s = torch.randn(6, 512, dtype=torch.float32) * 50
    s.requires_grad_(True)
    t = torch.randn(6, 512) * 50
    terms = distilvpr_terms(s, t, C)
    total = sum(terms.values())
    total.backward()
    assert all(torch.isfinite(v) for v in terms.values())
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- gradients
def np_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a numpy function f at x (float64)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


def student_logits_grad(name: str, args: dict | None = None, epoch: int = 199) -> np.ndarray:
    """d(kd term)/d(student logits) by autograd through the method (float64)."""
    m = build_method(name, torch.nn.Identity(), K, {"method_args": args or {}})
    m.on_epoch_start(epoch, 200)
    s = tt(S_LOGITS).requires_grad_(True)
    out = BackboneOutput(torch.zeros(B, 1, 8, dtype=torch.float64), tt(S_EMB), s)
    m.compute_losses(out, t_out(T_LOGITS), torch.tensor(LABELS))["kd"].backward()
    return s.grad.numpy()


@pytest.mark.parametrize("t2", [False, True])
def test_kd_gradient_closed_form(t2: bool):
    """d/ds KL(p_t || softmax(s/T)) (batchmean) = (softmax(s/T) - p_t) / (T B), x T^2 with t2."""
    T = 3.0
    expected = np.stack([np_softmax(S_LOGITS[b] / T) - np_softmax(T_LOGITS[b] / T) for b in range(B)]) / (T * B)
    expected *= 0.4 * (T * T if t2 else 1.0)
    np.testing.assert_allclose(student_logits_grad("kd", {"t2": t2}), expected, rtol=1e-9, atol=1e-14)


def test_dkd_gradient_finite_difference():
    def f(s):
        tckd, nckd = np_dkd(s, T_LOGITS, LABELS, 4.0)
        return 0.4 * (1.0 * tckd + 8.0 * nckd)

    np.testing.assert_allclose(student_logits_grad("dkd"), np_grad(f, S_LOGITS), rtol=1e-6, atol=1e-9)
    # at epoch 9 of 200 the warm-up factor 10/20 scales the gradient too
    np.testing.assert_allclose(student_logits_grad("dkd", epoch=9), 0.5 * np_grad(f, S_LOGITS), rtol=1e-6, atol=1e-9)


def test_lskd_gradient_finite_difference():
    zt = np.stack([np_zscore(r) for r in T_LOGITS])

    def f(s):
        return 0.4 * np_kd(np.stack([np_zscore(r) for r in s]), zt, 3.0, True)

    grad = student_logits_grad("lskd")
    np.testing.assert_allclose(grad, np_grad(f, S_LOGITS), rtol=1e-6, atol=1e-9)
    # standardisation: the gradient of each row is orthogonal to a shift of the logits
    np.testing.assert_allclose(grad.sum(1), 0.0, atol=1e-12)


@pytest.mark.parametrize("kind", ["euclidean", "cosine", "poincare"])
def test_distilvpr_gradient_stops_at_the_target_relation(kind: str):
    """Official semantics: grad of MSE(R_SS, sg R_ST) + MSE(R_ST, sg R_TT) = finite differences of the numpy loss
    with the target R_ST frozen at the evaluation point; without stop_grad, of the plain loss."""
    s0, t = S_EMB, T_EMB
    r_st0, r_tt = np_relation(kind, s0, t), np_relation(kind, t, t)

    def frozen(s):
        return float(np.mean((np_relation(kind, s, s) - r_st0) ** 2) + np.mean((np_relation(kind, s, t) - r_tt) ** 2))

    for stop_grad, f in ((True, frozen), (False, lambda s: np_vpr_term(kind, s, t))):
        s = tt(s0).requires_grad_(True)
        distilvpr_terms(s, tt(t), C, stop_grad)[kind].backward()
        np.testing.assert_allclose(s.grad.numpy(), np_grad(f, s0), rtol=1e-5, atol=1e-8)
    # same value either way
    close(distilvpr_terms(tt(s0), tt(t), C, True)[kind], float(distilvpr_terms(tt(s0), tt(t), C, False)[kind]))
