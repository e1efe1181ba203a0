"""Transport costs (ackd_bench/transport.py): what each cost is invariant to, what a pairing changes, exact
W2 against a brute-force assignment, Sinkhorn within its stated bias, solver failures as errors, the record."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.stats import ortho_group

from ackd_bench.result_schema import schema_violations
from ackd_bench.transport import (
    PROB_COST_SCALE,
    TransportError,
    class_costs,
    gromov_wasserstein,
    pair_cost,
    partner_rows,
    sinkhorn_bias_bound,
    softmax,
    wasserstein,
)
from ackd_bench.transport_costs import costs_from_embeddings, headline

HEADLINE = ("w2_prob", "gw", "pair_cost")


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _sides(seed: int = 0, n_per_class: int = 12, n_classes: int = 3, d: int = 16):
    """A teacher-partner side and a student side, row-aligned (row i = student i and its partner)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    centres = rng.normal(size=(n_classes, n_classes)) * 2 + 4 * np.eye(n_classes)
    t_logits = centres[labels] + rng.normal(size=(len(labels), n_classes))
    s_logits = t_logits + rng.normal(size=t_logits.shape)
    t_emb, s_emb = rng.normal(size=(len(labels), d)), rng.normal(size=(len(labels), d))
    return t_logits, t_emb, s_logits, s_emb, labels


def _costs(t_logits, t_emb, s_logits, s_emb, labels, **kw):
    return class_costs(t_logits, t_emb, labels, s_logits, s_emb, labels, aligned=True, classes=["a", "b", "c"], **kw)


def test_headline_costs_are_invariant_to_a_channel_permutation_of_the_teacher():
    """Permuting the teacher's embedding channels (with the matching fc change the logits stay) changes none of
    the headline costs; the embedding W2 diagnostic does change: that is why it is not a headline cost."""
    t_logits, t_emb, s_logits, s_emb, labels = _sides(1)
    perm = np.random.default_rng(2).permutation(t_emb.shape[1])
    base = _costs(t_logits, t_emb, s_logits, s_emb, labels)
    permuted = _costs(t_logits, t_emb[:, perm], s_logits, s_emb, labels)
    for key in HEADLINE:
        assert permuted[key] == pytest.approx(base[key], rel=1e-9, abs=1e-12), key
        for cls in base["per_class"]:
            assert permuted["per_class"][cls][key] == pytest.approx(base["per_class"][cls][key], rel=1e-9, abs=1e-12)
    assert abs(permuted["w2_embed_diag"] - base["w2_embed_diag"]) > 1e-3
    # GW: any isometry of either space (a random rotation) too
    rot = ortho_group.rvs(t_emb.shape[1], random_state=3)
    assert _costs(t_logits, t_emb @ rot, s_logits, s_emb, labels)["gw"] == pytest.approx(base["gw"], rel=1e-7)


def test_w2_prob_and_pair_cost_depend_on_the_logits_only():
    t_logits, t_emb, s_logits, s_emb, labels = _sides(4)
    base = _costs(t_logits, t_emb, s_logits, s_emb, labels)
    other = np.random.default_rng(5).normal(size=(len(labels), 40))  # another teacher with the same logits
    changed = _costs(t_logits, other, s_logits, s_emb, labels)
    assert changed["w2_prob"] == base["w2_prob"] and changed["pair_cost"] == base["pair_cost"]
    assert changed["gw"] != base["gw"]  # the embedding geometry did change
    # adding a constant to every logit of a row keeps the softmax
    shifted = _costs(t_logits + np.arange(len(labels))[:, None], t_emb, s_logits, s_emb, labels)
    assert shifted["w2_prob"] == pytest.approx(base["w2_prob"], rel=1e-9)


def test_pair_cost_of_a_matched_pairing_is_below_a_shuffled_one():
    """Each student's class probabilities are close to its own partner's: shuffling partners within the class
    leaves the distributions (so W2) unchanged but raises the pair-level cost."""
    rng = np.random.default_rng(6)
    labels = np.repeat([0, 1, 2], 10)
    t_logits = 3 * rng.normal(size=(30, 3)) + 4 * np.eye(3)[labels]
    s_logits = t_logits + 0.05 * rng.normal(size=t_logits.shape)
    emb = rng.normal(size=(30, 8))
    shuffled = np.concatenate([rng.permutation(np.flatnonzero(labels == c)) for c in range(3)])
    matched = _costs(t_logits, emb, s_logits, emb, labels)
    mixed = _costs(t_logits[shuffled], emb[shuffled], s_logits, emb, labels)
    assert matched["pair_cost"] < 0.5 * mixed["pair_cost"]
    assert mixed["w2_prob"] == pytest.approx(matched["w2_prob"], rel=1e-9)  # the partner multiset is the same
    for out in (matched, mixed):  # the pairing is a feasible coupling: never cheaper than the optimal one
        assert out["pair_cost"] >= out["w2_prob"] - 1e-12
    # the definition: root mean squared distance of each student to its partner
    p_t, p_s = softmax(t_logits[shuffled], 3.0), softmax(s_logits, 3.0)
    first = labels == 0
    assert mixed["per_class"]["a"]["pair_cost"] == pytest.approx(
        math.sqrt(((p_t[first] - p_s[first]) ** 2).sum(1).mean()), rel=1e-12
    )
    assert pair_cost(p_t, p_s) > pair_cost(softmax(t_logits, 3.0), p_s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_w2_equals_brute_force_assignment(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(9, 6)), rng.normal(size=(9, 6)) + 0.5
    ux, uy = _unit(x), _unit(y)
    cost = ((ux[:, None, :] - uy[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    expected = np.sqrt(cost[rows, cols].mean())  # uniform equal-size sets: OT = best permutation
    got = wasserstein(x, y, method="exact")
    assert got["w"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert got["method"] == "exact" and got["reg"] is None and got["n"] == [9, 9]
    p, q = softmax(x, 3.0), softmax(y, 3.0)  # probability vectors: not normalised
    cost = ((p[:, None, :] - q[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    assert wasserstein(p, q, normalise=False)["w"] == pytest.approx(np.sqrt(cost[rows, cols].mean()), rel=1e-9)


@pytest.mark.parametrize("reg", [0.05, 0.01])
def test_sinkhorn_agrees_with_exact_within_the_stated_bias(reg):
    t_logits, t_emb, s_logits, s_emb, labels = _sides(7, n_per_class=15)
    exact = _costs(t_logits, t_emb, s_logits, s_emb, labels)
    sink = _costs(t_logits, t_emb, s_logits, s_emb, labels, method="sinkhorn", reg=reg)
    for cls, e in exact["per_class"].items():
        s = sink["per_class"][cls]
        bound = sinkhorn_bias_bound(reg, 15, 15, PROB_COST_SCALE)
        assert -1e-9 <= s["w2_prob"] ** 2 - e["w2_prob"] ** 2 <= bound + 1e-9
        bound = sinkhorn_bias_bound(reg, 15, 15, 4.0)
        assert -1e-9 <= s["w2_embed_diag"] ** 2 - e["w2_embed_diag"] ** 2 <= bound + 1e-9
        assert s["gw"] == e["gw"] and s["pair_cost"] == e["pair_cost"]  # solver-independent


def test_gromov_wasserstein_is_zero_for_isometric_sets_and_positive_otherwise():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(20, 6))
    rot = ortho_group.rvs(6, random_state=9)
    assert gromov_wasserstein(x, x[rng.permutation(20)] @ rot)["gw"] == pytest.approx(0.0, abs=1e-6)
    clustered = np.repeat(rng.normal(size=(2, 6)), 10, axis=0) + 0.01 * rng.normal(size=(20, 6))
    assert gromov_wasserstein(x, clustered)["gw"] > 0.1


def test_inputs_are_l2_normalised_first():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 4)), rng.normal(size=(10, 4))
    assert wasserstein(5 * x, 0.1 * y)["w"] == pytest.approx(wasserstein(x, y)["w"], rel=1e-9)
    assert gromov_wasserstein(5 * x, 0.1 * y)["gw"] == pytest.approx(gromov_wasserstein(x, y)["gw"], rel=1e-9)


def test_torch_backend_matches_numpy():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(7, 5))
    a = wasserstein(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))["w"]
    assert a == pytest.approx(wasserstein(x, y)["w"], rel=1e-5)
    s = wasserstein(torch.tensor(x), torch.tensor(y), method="sinkhorn", reg=0.05)["w"]
    assert s == pytest.approx(wasserstein(x, y, method="sinkhorn", reg=0.05)["w"], rel=1e-6)
    assert gromov_wasserstein(torch.tensor(x), torch.tensor(y))["gw"] == pytest.approx(
        gromov_wasserstein(x, y)["gw"], rel=1e-6
    )


def test_truncated_solvers_are_errors():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 8)), rng.normal(size=(60, 8))
    with pytest.raises(TransportError, match="did not reach the optimum"):
        wasserstein(x, y, method="exact", max_iter=3)
    labels = np.repeat([0, 1], 30)
    with pytest.raises(TransportError):
        class_costs(x, x, labels, y, y, labels, max_iter=3)
    with pytest.raises(TransportError, match="did not converge"):
        gromov_wasserstein(x, y, max_iter=1)


def test_unconverged_sinkhorn_is_an_error():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    with pytest.raises(TransportError, match="did not converge"):
        wasserstein(x, y, method="sinkhorn", reg=0.001, max_iter=2)


def test_subsample_is_seeded_keeps_pairs_together_and_is_recorded():
    t_logits, t_emb, s_logits, s_emb, labels = _sides(9, n_per_class=12)
    a = _costs(t_logits, t_emb, s_logits, s_emb, labels, n_max=5, seed=1)
    b = _costs(t_logits, t_emb, s_logits, s_emb, labels, n_max=5, seed=1)
    c = _costs(t_logits, t_emb, s_logits, s_emb, labels, n_max=5, seed=2)
    assert a["n_per_class"] == {"a": [5, 5], "b": [5, 5], "c": [5, 5]}
    assert a["per_class"] == b["per_class"] and a["per_class"] != c["per_class"]
    assert all(v["pair_cost"] >= v["w2_prob"] - 1e-12 for v in a["per_class"].values())  # still pairs
    unpaired = class_costs(t_logits, t_emb, labels, s_logits, s_emb, labels, n_max=None)
    assert unpaired["pair_cost"] is None and all(v["pair_cost"] is None for v in unpaired["per_class"].values())


def _record_inputs(seed: int = 10):
    rng = np.random.default_rng(seed)
    s_emb, s_logits = rng.normal(size=(12, 6)), rng.normal(size=(12, 2))
    t_emb = np.concatenate([s_emb, rng.normal(size=(12, 6))])
    t_logits = np.concatenate([s_logits, rng.normal(size=(12, 2))])
    s_ids, t_ids = [f"s{i}" for i in range(12)], [f"t{i}" for i in range(24)]
    return {
        "student_emb": s_emb,
        "student_logits": s_logits,
        "student_labels": np.repeat([0, 1], 6),
        "student_ids": s_ids,
        "teacher_emb": t_emb,
        "teacher_logits": t_logits,
        "teacher_labels": np.repeat([0, 1, 0, 1], 6),
        "teacher_ids": t_ids,
        "pairing": pd.DataFrame({"student_id": s_ids, "teacher_id": t_ids[:12]}),
        "sckd_pairs": pd.DataFrame({"student_id": s_ids, "teacher_id": t_ids[12:]}),
        "classes": ["x", "y"],
    }


def test_run_pairing_partners_and_sckd_side():
    """Partners equal to the students themselves cost 0 on every cost; SCKD pairs to other samples cost more."""
    emb = _record_inputs()
    out = costs_from_embeddings(emb)
    assert out["teacher_side"] == "partners" and out["temperature"] == 3.0 and out["method"] == "exact"
    for key in (*HEADLINE, "w2_embed_diag"):
        assert out[key] == pytest.approx(0.0, abs=1e-6), key
        assert out["sckd"][key] > 0.01, key
    assert set(out["sckd"]["per_class"]) == {"x", "y"}
    assert out["w2_prob"] == pytest.approx(np.mean([v["w2_prob"] for v in out["per_class"].values()]))
    with pytest.raises(TransportError, match="no embedding"):
        partner_rows(
            emb["student_ids"], emb["teacher_ids"], pd.DataFrame({"student_id": ["s0"], "teacher_id": ["t99"]})
        )
    emb["pairing"] = None  # e.g. another split: each class's whole pool, no pair-level cost
    pool = costs_from_embeddings(emb)
    assert pool["teacher_side"] == "class_pool" and pool["pair_cost"] is None and pool["sckd"]["pair_cost"] > 0


def _minimal_record(transport) -> dict:
    from ackd_bench.result_schema import load_schema

    record = {k: None for k in load_schema()["required"]}
    record["schema_version"] = 1
    record["transport"] = transport
    return record


def _transport_violations(transport) -> list[str]:
    return [v for v in schema_violations(_minimal_record(transport)) if v.startswith("transport")]


def test_schema_accepts_the_record_and_the_old_embedding_w2_record():
    out = costs_from_embeddings(_record_inputs())
    assert _transport_violations(out) == []
    legacy = {"method": "exact", "metric": "W2", "n_max": 500, "per_class": {"x": 0.5}, "mean": 0.5, "sckd": None}
    assert _transport_violations(legacy) == []
    broken = dict(out, w2_prob=-1.0)
    assert _transport_violations(broken) and "w2_prob" in _transport_violations(broken)[0]
    missing = {k: v for k, v in out.items() if k != "gw"}
    assert any("gw" in v for v in _transport_violations(missing))


def test_an_old_record_is_read_as_the_diagnostic_never_as_a_headline_cost():
    legacy = {"method": "exact", "metric": "W2", "mean": 0.7, "sckd": {"mean": 0.2}}
    read = headline(legacy)
    assert read["w2_embed_diag"] == 0.7 and all(math.isnan(read[k]) for k in HEADLINE)
    assert headline(legacy, sckd=True)["w2_embed_diag"] == 0.2
    assert all(math.isnan(v) for v in headline(None).values())


@pytest.mark.gpu
def test_gpu_tensors_stay_on_device():
    rng = np.random.default_rng(11)
    x = torch.tensor(rng.normal(size=(200, 32)), device="cuda")
    y = torch.tensor(rng.normal(size=(200, 32)), device="cuda")
    sink = wasserstein(x, y, method="sinkhorn", reg=0.05)["w"]
    assert sink == pytest.approx(
        wasserstein(x.cpu().numpy(), y.cpu().numpy(), method="sinkhorn", reg=0.05)["w"], rel=1e-6
    )
    assert wasserstein(x, y)["w"] == pytest.approx(wasserstein(x.cpu().numpy(), y.cpu().numpy())["w"], rel=1e-9)
