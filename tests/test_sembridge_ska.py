"""SKA: planners, token weights, energy-preserving refinement, CORAL, and a training step on all six pairs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ackd_bench.methods import TeacherOutput, build_method
from ackd_bench.methods.sembridge.coral import coral
from ackd_bench.methods.sembridge.planner import Planner, pool_tokens, refine, token_weights
from ackd_bench.models import PAIRS, build_model


@pytest.mark.parametrize("in_dim", [512, 1024, 96])
def test_planner_rows_sum_to_one_for_any_token_width(in_dim):
    torch.manual_seed(0)
    plan = Planner(in_dim, dim=64, heads=8)(torch.randn(3, 5, in_dim))
    assert plan.shape == (3, 8, 5, 5)
    torch.testing.assert_close(plan.sum(-1), torch.ones(3, 8, 5))
    w = token_weights(plan)
    assert w.shape == (3, 5)
    torch.testing.assert_close(w.mean(1), torch.ones(3))  # weights average 1


def test_token_weights_are_head_averaged_column_marginals():
    plan = torch.softmax(torch.randn(2, 4, 3, 3), -1)
    expected = plan.numpy().mean(axis=2).mean(axis=1) * 3
    np.testing.assert_allclose(token_weights(plan).numpy(), expected, rtol=1e-6)


def test_refine_preserves_energy_of_the_mean_token():
    torch.manual_seed(1)
    z, w = torch.randn(4, 6, 8), torch.rand(4, 6) * 2
    out = refine(z, w)
    torch.testing.assert_close(out.mean(1).norm(dim=-1), z.mean(1).norm(dim=-1))
    ratio = out / (w.unsqueeze(-1) * z)  # same direction per token: out = kappa * w * z
    torch.testing.assert_close(ratio, ratio[:, :1, :1].expand_as(ratio))


def test_pool_tokens_grid_and_sequence():
    z = torch.arange(16.0).view(1, 16, 1)
    assert pool_tokens(z, 4).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]  # 2x2 mean of the 4x4 grid
    assert pool_tokens(torch.ones(2, 6, 3), 3).shape == (2, 3, 3)


def _coral_numpy(xs, xt, scale):
    xs, xt = xs.reshape(len(xs), -1).astype(np.float64), xt.reshape(len(xt), -1).astype(np.float64)
    b, d = xs.shape
    cs = np.cov(xs, rowvar=False, ddof=1)
    ct = np.cov(xt, rowvar=False, ddof=1)
    if scale == "deep_coral":
        return ((cs - ct) ** 2).sum() / (4 * d * d)
    cs, ct = cs * (b - 1), ct * (b - 1)  # unnormalised scatter
    return ((cs - ct) ** 2).sum() / (4 * d**3)


@pytest.mark.parametrize("scale", ["deep_coral", "official"])
@pytest.mark.parametrize("shape", [(16, 5), (6, 2, 12)])  # d <= B (covariances) and d > B (Gram path)
def test_coral_matches_numpy_formula(scale, shape):
    rng = np.random.default_rng(3)
    xs, xt = rng.normal(size=shape), rng.normal(size=shape) * 1.5 + 0.3
    got = coral(torch.tensor(xs, dtype=torch.float32), torch.tensor(xt, dtype=torch.float32), scale)
    np.testing.assert_allclose(float(got), _coral_numpy(xs, xt, scale), rtol=1e-4)


@pytest.mark.parametrize("scale", ["deep_coral", "official"])
@pytest.mark.parametrize("shape", [(16, 5), (6, 40)])
def test_coral_zero_for_identical_inputs(scale, shape):
    x = torch.randn(*shape)
    assert float(coral(x, x.clone(), scale)) == pytest.approx(0.0, abs=1e-9)


def _step(pair: str, cfg: dict):
    t_arch, s_arch = PAIRS[pair]
    torch.manual_seed(0)
    teacher = build_model(t_arch, 4, 3).eval()
    student = build_model(s_arch, 3, 3)
    method = build_method("kd+sembridge", student, 3, cfg, teacher_token_dim=teacher.token_dim)
    with torch.inference_mode():
        t_out = teacher(torch.randn(4, 4, 64, 64))
    logits, losses = method.forward_train(torch.randn(4, 3, 64, 64), TeacherOutput(t_out.logits, t_out.embedding, t_out.tokens), torch.tensor([0, 1, 2, 0]))
    sum(losses.values()).backward()
    return method, logits, losses


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_training_step_on_every_pair_reaches_student_and_planners(pair):
    method, logits, losses = _step(pair, {})
    assert logits.shape == (4, 3) and set(losses) == {"ce", "kd", "ot1", "ot2"}
    assert all(torch.isfinite(v) for v in losses.values())
    def has_grad(module):
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert has_grad(method.student)
    assert has_grad(method.teacher_planner) and has_grad(method.student_planner)
    learnable = {id(p) for p in method.learnable_parameters()}
    for module in method.extra_modules():
        assert all(id(p) in learnable for p in module.parameters())


def test_ablations_and_paper_loss_form():
    method, _, losses = _step("R-S", {"sembridge": {"no_ot1": True, "loss_form": "paper", "lambda1": 0.6}})
    assert set(losses) == {"ce", "kd", "ot2"}
    assert (method.base.w_ce, method.base.w_kd) == (1.0, 0.6) and method.w_ot == pytest.approx(0.4)
    _, _, losses = _step("S-S", {"sembridge": {"no_ot2": True, "coral_scale": "official"}})
    assert set(losses) == {"ce", "kd", "ot1"}
