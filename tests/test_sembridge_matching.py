"""Pairing: batched DynM equals the per-sample KL loop; random and table helpers; the DynM schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ackd_bench.errors import ConfigError, DataError
from ackd_bench.methods.sembridge.matching import (
    PAIRING_COLUMNS,
    dynm_match,
    dynm_match_reference,
    pairing_table,
    retrieve,
)
from ackd_bench.methods.sembridge.schedule import curriculum_epochs, dynm_epochs


def _logits(seed, n_s=300, n_t=400, k=10):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n_s, k, generator=g) * 3,
        torch.randn(n_t, k, generator=g) * 3,
        torch.randint(0, k, (n_s,), generator=g),
        torch.randint(0, k, (n_t,), generator=g),
    )


@pytest.mark.parametrize("backend", ["faiss", "torch"])
@pytest.mark.parametrize("seed", [0, 1])
def test_batched_dynm_equals_per_sample_loop(backend, seed):
    s, t, sl, tl = _logits(seed)
    idx, kl = dynm_match(s, t, sl, tl, tau=3.0, backend=backend)
    ref = dynm_match_reference(s, t, sl, tl, tau=3.0)
    np.testing.assert_array_equal(idx, ref)
    assert (tl.numpy()[idx] == sl.numpy()).all()
    # the returned KL is the KL of the chosen pair
    p_t = torch.softmax(t[idx] / 3, 1)
    direct = (p_t * (torch.log_softmax(t[idx] / 3, 1) - torch.log_softmax(s / 3, 1))).sum(1)
    np.testing.assert_allclose(kl, direct.numpy(), atol=1e-4)


def test_dynm_picks_the_teacher_with_identical_prediction():
    t = torch.tensor([[5.0, 0.0], [0.0, 0.0], [2.0, 1.0]])
    idx, kl = dynm_match(t[[2, 0]], t, torch.tensor([0, 0]), torch.tensor([0, 0, 0]))
    assert idx.tolist() == [2, 0]
    np.testing.assert_allclose(kl, 0.0, atol=1e-6)


def test_retrieve_label_free_vs_class_conditional():
    t_emb = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    s_emb = torch.tensor([[1.0, 0.1]])
    _, free = retrieve(s_emb, t_emb, None, None)
    _, cond = retrieve(s_emb, t_emb, torch.tensor([1]), torch.tensor([0, 1]))
    assert free.tolist() == [0] and cond.tolist() == [1]


def test_pairing_table_columns_and_missing_class():
    table = pairing_table(
        ["s0", "s1"],
        ["t0", "t1"],
        np.array([1, 0]),
        np.array([0.5, 0.2]),
        round_idx=2,
        epoch=9,
        protocol="dynm",
        matcher_sha256="abc",
    )
    assert list(table.columns) == PAIRING_COLUMNS
    assert table.teacher_id.tolist() == ["t1", "t0"] and set(table["round"]) == {2}
    with pytest.raises(DataError):
        pairing_table(
            ["s0"], ["t0"], np.array([-1]), np.array([0.0]), round_idx=0, epoch=0, protocol="ssm", matcher_sha256=None
        )


def test_schedule_paper_tables_scaling_and_explicit():
    assert curriculum_epochs(30, 30, 5, 4) == [30, 60, 95, 135]
    assert dynm_epochs(200, "S2S_EU") == [30, 60, 95, 135]
    assert dynm_epochs(200, "S2S_CN") == [45, 60, 80, 105, 135]
    assert dynm_epochs(200, "M2S_GL") == [15, 45, 80, 120, 165]
    assert dynm_epochs(20, "S2S_EU") == [3, 6, 10, 14]  # 30/10, 60/10, 9.5 -> 10, 13.5 -> 14
    assert dynm_epochs(4, "S2S_EU") == [1, 2, 3]  # 0.6 -> 1, 1.2 -> 1 (dup), 1.9 -> 2, 2.7 -> 3
    assert dynm_epochs(10, [7, 3, 3, 12]) == [3, 7]
    assert dynm_epochs(300, {"e0": 10, "de": 10, "em": 0, "rounds": 3}) == [10, 20, 30]
    with pytest.raises(ConfigError):
        dynm_epochs(10, "nope")
