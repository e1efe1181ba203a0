"""Transport costs: exact W2 against a brute-force assignment, SCKD zero, truncation errors, Sinkhorn's reg."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from ackd_bench.report.cost import costs_from_embeddings
from ackd_bench.transport import TransportError, class_costs, partner_rows, wasserstein


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_equals_brute_force_assignment(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(9, 6)), rng.normal(size=(9, 6)) + 0.5
    ux, uy = _unit(x), _unit(y)
    cost = ((ux[:, None, :] - uy[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    expected = np.sqrt(cost[rows, cols].mean())  # uniform equal-size sets: OT = best permutation
    got = wasserstein(x, y, method="exact")
    assert got["w"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert got["method"] == "exact" and got["reg"] is None and got["n"] == [9, 9]


def test_inputs_are_l2_normalised_first():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 4)), rng.normal(size=(10, 4))
    assert wasserstein(5 * x, 0.1 * y)["w"] == pytest.approx(wasserstein(x, y)["w"], rel=1e-9)


def test_torch_backend_matches_numpy():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(7, 5))
    a = wasserstein(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))["w"]
    assert a == pytest.approx(wasserstein(x, y)["w"], rel=1e-5)
    s = wasserstein(torch.tensor(x), torch.tensor(y), method="sinkhorn", reg=0.05)["w"]
    assert s == pytest.approx(wasserstein(x, y, method="sinkhorn", reg=0.05)["w"], rel=1e-6)


def test_truncated_emd_is_an_error():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=(60, 8))
    with pytest.raises(TransportError, match="did not reach the optimum"):
        wasserstein(x, y, method="exact", max_iter=3)
    labels = np.repeat([0, 1], 30)
    with pytest.raises(TransportError):
        class_costs(x, y, labels, labels, max_iter=3)


def test_unconverged_sinkhorn_is_an_error():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    with pytest.raises(TransportError, match="did not converge"):
        wasserstein(x, y, method="sinkhorn", reg=0.001, max_iter=2)


def test_sckd_cost_on_identical_features_is_zero():
    rng = np.random.default_rng(7)
    student = rng.normal(size=(30, 16))
    labels = np.repeat(np.arange(3), 10)
    teacher = rng.normal(size=(24, 16))
    t_labels = np.repeat(np.arange(3), 8)
    out = class_costs(teacher, student, t_labels, labels, classes=["a", "b", "c"],
                      sckd_teacher_emb=student.copy(), sckd_teacher_labels=labels)
    assert set(out["sckd"]["per_class"]) == {"a", "b", "c"}
    assert all(v == pytest.approx(0.0, abs=1e-7) for v in out["sckd"]["per_class"].values())
    assert out["sckd"]["mean"] == pytest.approx(0.0, abs=1e-7)
    assert out["mean"] > 0.1  # unrelated teacher features do cost something
    assert out["mean"] == pytest.approx(np.mean(list(out["per_class"].values())))


def test_sinkhorn_carries_reg_and_is_not_below_exact():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(40, 8)), rng.normal(size=(40, 8)) + 0.3
    labels = np.repeat([0, 1], 20)
    exact = class_costs(x, y, labels, labels, method="exact")
    sink = class_costs(x, y, labels, labels, method="sinkhorn", reg=0.1)
    assert sink["method"] == "sinkhorn" and sink["reg"] == 0.1 and sink["metric"] == "W2"
    assert exact["reg"] is None and exact["sckd"] is None
    assert sink["iterations"] and all(n > 0 for n in sink["iterations"].values())
    for cls, w in exact["per_class"].items():
        assert sink["per_class"][cls] >= w - 1e-6  # entropic plans are feasible, so never cheaper


def test_subsample_is_seeded_and_recorded():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(24, 8)), rng.normal(size=(24, 8))
    labels = np.repeat([0, 1], 12)
    a = class_costs(x, y, labels, labels, n_max=5, seed=1)
    b = class_costs(x, y, labels, labels, n_max=5, seed=1)
    c = class_costs(x, y, labels, labels, n_max=5, seed=2)
    assert a["n_max"] == 5 and a["n_per_class"] == {"0": [5, 5], "1": [5, 5]} and a["seed"] == 1
    assert a["per_class"] == b["per_class"]
    assert a["per_class"] != c["per_class"]
    full = class_costs(x, y, labels, labels, n_max=None)
    assert full["n_per_class"]["0"] == [12, 12]


def test_run_pairing_partner_multiset():
    """Partners equal to the students' own features cost 0; SCKD pairs to other features cost more."""
    rng = np.random.default_rng(10)
    s = rng.normal(size=(12, 6))
    t = np.concatenate([s, rng.normal(size=(12, 6))])
    s_ids, t_ids = [f"s{i}" for i in range(12)], [f"t{i}" for i in range(24)]
    emb = {"student_emb": s, "student_labels": np.repeat([0, 1], 6), "student_ids": s_ids,
           "teacher_emb": t, "teacher_labels": np.repeat([0, 1, 0, 1], 6), "teacher_ids": t_ids,
           "pairing": pd.DataFrame({"student_id": s_ids, "teacher_id": t_ids[:12]}),
           "sckd_pairs": pd.DataFrame({"student_id": s_ids, "teacher_id": t_ids[12:]}),
           "classes": ["x", "y"]}
    out = costs_from_embeddings(emb)
    assert out["mean"] == pytest.approx(0.0, abs=1e-7)
    assert out["sckd"]["mean"] > 0.1 and set(out["sckd"]["per_class"]) == {"x", "y"}
    with pytest.raises(TransportError, match="no embedding"):
        partner_rows(s_ids, t_ids, pd.DataFrame({"student_id": ["s0"], "teacher_id": ["t99"]}))


@pytest.mark.gpu
def test_gpu_tensors_stay_on_device():
    rng = np.random.default_rng(11)
    x = torch.tensor(rng.normal(size=(200, 32)), device="cuda")
    y = torch.tensor(rng.normal(size=(200, 32)), device="cuda")
    sink = wasserstein(x, y, method="sinkhorn", reg=0.05)["w"]
    assert sink == pytest.approx(wasserstein(x.cpu().numpy(), y.cpu().numpy(), method="sinkhorn", reg=0.05)["w"],
                                 rel=1e-6)
    assert wasserstein(x, y)["w"] == pytest.approx(wasserstein(x.cpu().numpy(), y.cpu().numpy())["w"], rel=1e-9)
