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
    logits, losses = method.forward_train(
        torch.randn(4, 3, 64, 64),
        TeacherOutput(t_out.logits, t_out.embedding, t_out.tokens),
        torch.tensor([0, 1, 2, 0]),
    )
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
    assert (method.base.w_ce, method.base.w_kd) == (1.0, 0.6) and method.ot_weights == {"ot2": pytest.approx(0.4)}
    _, _, losses = _step("S-S", {"sembridge": {"no_ot2": True, "coral_scale": "official"}})
    assert set(losses) == {"ce", "kd", "ot1"}


# --- SKA strength: per-scale weights (issue 11 §1) -------------------------------------------------------------


def _official_coral_numpy(xs: np.ndarray, xt: np.ndarray) -> float:
    """The official utils/loss_kd.py CORAL: mean((Xc^T Xc - Yc^T Yc)^2) / (4d), unnormalised scatter, float64.

    ||A^T A - G^T G||_F^2 is evaluated as ||A A^T||^2 + ||G G^T||^2 - 2 ||A G^T||^2 (B x B Gram matrices), so
    8,192-d tokens at batch 256 need no 8,192^2 matrix.
    """
    a = xs.reshape(len(xs), -1).astype(np.float64)
    g = xt.reshape(len(xt), -1).astype(np.float64)
    a, g = a - a.mean(0), g - g.mean(0)
    d = a.shape[1]
    diff2 = ((a @ a.T) ** 2).sum() + ((g @ g.T) ** 2).sum() - 2 * ((a @ g.T) ** 2).sum()
    return diff2 / d**2 / (4 * d)  # mean over the d^2 entries, then / (4d)


def _token_shapes(arch: str, in_channels: int, size: int) -> tuple[int, int]:
    with torch.inference_mode():
        tokens = build_model(arch, in_channels, 3).eval()(torch.zeros(1, in_channels, size, size)).tokens
    return tokens.shape[1], tokens.shape[2]


def _random_outputs(b: int, n: int, c: int, k: int, gen: torch.Generator, scale: float = 1.0):
    """(logits, embedding, tokens) of random values."""
    tokens = torch.randn(b, n, c, generator=gen) * scale + 0.2
    return torch.randn(b, k, generator=gen), torch.randn(b, 512, generator=gen) * scale, tokens


def _student(*outputs):
    from ackd_bench.models import BackboneOutput

    logits, embedding, tokens = outputs
    return BackboneOutput(tokens=tokens, embedding=embedding, logits=logits)


@pytest.mark.parametrize("size", [64, 128])
@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_default_ska_terms_equal_the_official_formula_at_batch_256(pair, size):
    """Deep CORAL with the calibrated per-term weight = 0.003 x the official CORAL, at the official batch 256,
    for each pair's real token shapes (64 px: EuroSAT-like; 128 px: NaSC-TG2-like)."""
    t_arch, s_arch = PAIRS[pair]
    n_t, c_t = _token_shapes(t_arch, 10, size)
    n_s, c_s = _token_shapes(s_arch, 3, size)
    assert n_t == n_s == (size // 32) ** 2
    torch.manual_seed(0)
    method = build_method("kd+sembridge", build_model(s_arch, 3, 10), 10, {}, teacher_token_dim=c_t)
    gen = torch.Generator().manual_seed(1)
    s = _student(*_random_outputs(256, n_s, c_s, 10, gen))
    t = TeacherOutput(*_random_outputs(256, n_t, c_t, 10, gen, scale=1.5))
    labels = torch.randint(0, 10, (256,), generator=gen)
    with torch.no_grad():
        losses = method.compute_losses(s, t, labels)
        z_s, z_t = method.ot1_features(s.tokens, t.tokens)
    assert z_t.shape[1:] == (n_t, c_t)  # L_ot1 compares N x C_teacher tokens: d = 2,048 (64 px) or 8,192 (128 px)
    official_ot1 = 0.003 * _official_coral_numpy(z_s.numpy(), z_t.numpy())
    official_ot2 = 0.003 * _official_coral_numpy(s.embedding.numpy(), t.embedding.numpy())
    np.testing.assert_allclose(float(losses["ot1"]), official_ot1, rtol=2e-4)
    np.testing.assert_allclose(float(losses["ot2"]), official_ot2, rtol=2e-4)
    d1 = n_t * c_t
    assert method.ot_weights == pytest.approx({"ot1": 0.003 * 255**2 / d1, "ot2": 0.003 * 255**2 / 512})
    # and the `official` scale with its own weight gives the same numbers at this batch
    official = build_method(
        "kd+sembridge",
        build_model(s_arch, 3, 10),
        10,
        {"sembridge": {"coral_scale": "official"}},
        teacher_token_dim=c_t,
    )
    official.load_state_dict(method.state_dict())
    with torch.no_grad():
        off = official.compute_losses(s, t, labels)
    np.testing.assert_allclose(float(off["ot1"]), official_ot1, rtol=2e-4)
    assert official.ot_weights == {"ot1": 0.003, "ot2": 0.003}


def test_default_ska_terms_are_batch_independent_per_unit_of_covariance_difference():
    """weighted term / ||C_S - C_T||_F^2 (covariances with 1/(B-1)) is one constant at batch 32 and 256 for the
    default; the official formula's changes by (B-1)^2 (68x weaker at batch 32)."""
    method = build_method(
        "kd+sembridge", build_model("resnet18", 3, 10), 10, {"sembridge": {"no_ot1": True}}, teacher_token_dim=512
    )
    official = build_method(
        "kd+sembridge",
        build_model("resnet18", 3, 10),
        10,
        {"sembridge": {"no_ot1": True, "coral_scale": "official"}},
        teacher_token_dim=512,
    )
    ratios: dict[str, list[float]] = {"default": [], "official": []}
    for b in (32, 256):
        gen = torch.Generator().manual_seed(b)
        s = _student(*_random_outputs(b, 4, 512, 10, gen))
        t = TeacherOutput(*_random_outputs(b, 4, 512, 10, gen, scale=2.0))
        cov_diff2 = (
            (
                np.cov(s.embedding.numpy().astype(np.float64), rowvar=False)
                - np.cov(t.embedding.numpy().astype(np.float64), rowvar=False)
            )
            ** 2
        ).sum()
        with torch.no_grad():
            labels = torch.zeros(b, dtype=torch.long)
            ratios["default"].append(float(method.compute_losses(s, t, labels)["ot2"]) / cov_diff2)
            ratios["official"].append(float(official.compute_losses(s, t, labels)["ot2"]) / cov_diff2)
    expected = 0.003 * 255**2 / 512 / (4 * 512**2)
    np.testing.assert_allclose(ratios["default"], [expected, expected], rtol=1e-4)
    np.testing.assert_allclose(ratios["official"][1] / ratios["official"][0], (255 / 31) ** 2, rtol=1e-4)


def test_each_coral_scale_has_its_own_weight():
    from ackd_bench.errors import ConfigError
    from ackd_bench.methods.sembridge.wrapper import sembridge_options

    assert sembridge_options({})["w_ot"] == {"deep_coral": "calibrated", "official": 0.003}
    assert sembridge_options({"sembridge": {"w_ot": {"deep_coral": 0.5}}})["w_ot"] == {
        "deep_coral": 0.5,
        "official": 0.003,
    }
    for bad in (0.003, {"official": "calibrated"}, {"huge": 1.0}, {"deep_coral": -1}):
        with pytest.raises(ConfigError, match="w_ot"):
            sembridge_options({"sembridge": {"w_ot": bad}})
    method, _, _ = _step("R-R", {"sembridge": {"w_ot": {"deep_coral": 0.25}}})
    assert method.ot_weights == {"ot1": 0.25, "ot2": 0.25}
