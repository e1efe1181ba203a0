"""Method behaviour: gradient flow (student yes, teacher never), CTKD's reversed gradient, config handling,
SemBridge wiring, and one training step for every method on every benchmark pair."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from ackd_bench.errors import ConfigError
from ackd_bench.methods import METHODS, Distiller, TeacherOutput, build_method, method_names
from ackd_bench.methods.kd import kd_loss
from ackd_bench.models import PAIRS, build_model

torch.set_num_threads(1)

K = 5
BATCH = 4
METHOD_NAMES = METHODS.names()  # every registered base method; the checks below run on each
DISTILLING = [m for m in METHOD_NAMES if m != "student"]


def test_all_methods_registered():
    assert {"student", "kd", "logits", "rkd", "dkd", "ctkd", "lskd", "distilvpr"} <= set(METHOD_NAMES)
    names = method_names()
    assert "sembridge" in names and "dkd+sembridge" in names and "distilvpr+sembridge" in names
    assert "student+sembridge" not in names


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x_s = torch.randn(BATCH, 3, 32, 32, generator=g)
    x_t = torch.randn(BATCH, 10, 32, 32, generator=g)
    labels = torch.tensor([0, 1, 2, 3])
    return x_s, x_t, labels


@pytest.fixture(scope="module")
def small_models():
    torch.manual_seed(0)
    return build_model("resnet18", 3, K), build_model("resnet18", 10, K).eval()


def _teacher_outputs(teacher: torch.nn.Module, x_t: torch.Tensor) -> TeacherOutput:
    with torch.inference_mode():
        out = teacher(x_t)
    return TeacherOutput(out.logits, out.embedding, out.tokens)


# ----------------------------------------------------------------------------- gradient flow
@pytest.mark.parametrize("name", DISTILLING)
def test_kd_term_alone_trains_the_student(name: str, small_models):
    """The distillation term carries gradient into the student (official RKD detached it)."""
    student, teacher = small_models
    x_s, x_t, labels = _batch()
    method = build_method(name, student, K, {})
    method.on_epoch_start(10, 20)  # CTKD lambda = 1, DKD warm-up 11/20
    student.zero_grad(set_to_none=True)
    _, losses = method.forward_train(x_s, _teacher_outputs(teacher, x_t), labels)
    assert losses["kd"].requires_grad and losses["kd"].item() > 0
    losses["kd"].backward()
    first_conv = student.net.conv1.weight.grad
    assert first_conv is not None and first_conv.abs().sum() > 0
    fc_grad = student.net.fc.weight.grad
    if name in ("rkd", "distilvpr"):  # embedding-based: the classifier is not involved
        assert fc_grad is None
    else:
        assert fc_grad is not None and fc_grad.abs().sum() > 0
    student.zero_grad(set_to_none=True)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_teacher_never_gets_gradient(name: str, small_models):
    """Even teacher outputs computed WITH autograd are detached by forward_train: no teacher param gets grad."""
    student, teacher = small_models
    x_s, x_t, labels = _batch(1)
    out = teacher(x_t)  # deliberately not under no_grad
    t = TeacherOutput(out.logits, out.embedding, out.tokens)
    method = build_method(name, student, K, {})
    _, losses = method.forward_train(x_s, t, labels)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert not any(p is q for p in method.learnable_parameters() for q in teacher.parameters())
    assert not any(p is q for p in method.parameters() for q in teacher.parameters())
    student.zero_grad(set_to_none=True)


def test_inference_mode_teacher_outputs_stay_untouched(small_models):
    student, teacher = small_models
    x_s, x_t, labels = _batch(2)
    t = _teacher_outputs(teacher, x_t)
    for name in ("logits", "rkd", "distilvpr"):  # these save teacher tensors for backward
        _, losses = build_method(name, student, K, {}).forward_train(x_s, t, labels)
        sum(losses.values()).backward()
    assert not t.logits.requires_grad and t.logits.grad is None and t.logits.is_inference()
    student.zero_grad(set_to_none=True)


# ----------------------------------------------------------------------------- CTKD
def _ctkd_grads(epoch: int, warmup: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(theta grad through the GRL, theta grad of the same loss without the GRL)."""
    g = torch.Generator().manual_seed(3)
    s_logits = torch.randn(BATCH, K, generator=g)
    t_logits = torch.randn(BATCH, K, generator=g) * 3
    method = build_method(
        "ctkd", torch.nn.Identity(), K, {"method_args": {"warmup_epochs": warmup}, "warmups": "absolute"}
    )
    method.on_epoch_start(epoch, 10)
    s = types.SimpleNamespace(logits=s_logits, embedding=None, tokens=None)
    t = TeacherOutput(t_logits, torch.zeros(BATCH, 2))
    method.compute_losses(s, t, torch.tensor([0, 1, 2, 3]))["kd"].backward()
    theta = method.temperature.theta.detach().clone().requires_grad_(True)
    plain_T = 1.0 + 20.0 * torch.sigmoid(theta)
    (0.4 * kd_loss(s_logits, t_logits, plain_T, True)).backward()
    return method.temperature.theta.grad, theta.grad


def test_ctkd_temperature_gradient_is_reversed():
    reversed_grad, plain_grad = _ctkd_grads(epoch=5, warmup=5)  # lambda = 1
    assert plain_grad.abs() > 1e-6
    torch.testing.assert_close(reversed_grad, -plain_grad)
    half, plain = _ctkd_grads(epoch=1, warmup=2)  # lambda = (1 - cos(pi/2)) / 2 = 0.5
    torch.testing.assert_close(half, -0.5 * plain)
    zero, _ = _ctkd_grads(epoch=0, warmup=5)  # lambda = 0: temperature frozen in the first epoch
    assert float(zero) == 0.0


def test_ctkd_temperature_is_an_extra_learnable_module_and_ascends_the_loss(small_models):
    student, teacher = small_models
    method = build_method("ctkd", student, K, {})
    (temp,) = method.extra_modules()
    assert temp is method.temperature
    assert any(p is temp.theta for p in method.learnable_parameters())
    method.on_epoch_start(5, 10)
    x_s, x_t, labels = _batch(4)
    t = _teacher_outputs(teacher, x_t)
    opt = torch.optim.SGD([temp.theta], lr=0.5)
    with torch.no_grad():
        s_logits = student(x_s).logits
    before = kd_loss(s_logits, t.logits.clone(), temp(1.0).detach(), True)
    opt.zero_grad()
    _, losses = method.forward_train(x_s, t, labels)
    losses["kd"].backward()
    opt.step()
    after = kd_loss(s_logits, t.logits.clone(), temp(1.0).detach(), True)
    assert temp.theta.item() != 0.0
    assert float(after) > float(before)  # the temperature is trained adversarially
    student.zero_grad(set_to_none=True)


# ----------------------------------------------------------------------------- config and API
def test_method_args_validation():
    ident = torch.nn.Identity()
    assert build_method("kd", ident, K, {"method_args": {"T": 4}}).hparams == {"T": 4.0, "t2": False}
    assert isinstance(build_method("dkd", ident, K, {"method_args": {"warmup": 10.0}}).hparams["warmup"], int)
    with pytest.raises(ConfigError, match="unknown method_args tau"):
        build_method("kd", ident, K, {"method_args": {"tau": 4}})
    with pytest.raises(ConfigError, match="t2"):
        build_method("kd", ident, K, {"method_args": {"t2": "yes"}})
    with pytest.raises(ConfigError, match="T"):
        build_method("kd", ident, K, {"method_args": {"T": "hot"}})
    with pytest.raises(ConfigError, match="warmup"):
        build_method("dkd", ident, K, {"method_args": {"warmup": 2.5}})
    with pytest.raises(ConfigError, match="unknown method 'fitnet'"):
        build_method("fitnet", ident, K, {})
    with pytest.raises(ConfigError, match="student"):
        build_method("student+sembridge", ident, K, {})


def test_defaults_and_hooks():
    m = build_method("kd", torch.nn.Identity(), K, None)
    assert (m.w_ce, m.w_kd) == (0.3, 0.4)
    assert m.epoch == 0
    m.on_epoch_start(7, 30)
    assert (m.epoch, m.num_epochs) == (7, 30)
    assert m.initial_pairing(None) is None
    assert m.rematch_epochs(200) == []
    assert m.rematch(None, 3, 1) is None
    assert m.record_extra() == {}
    assert m.extra_modules() == []
    assert METHODS.get("student").uses_teacher is False
    assert all(METHODS.get(n).uses_teacher for n in DISTILLING)


def test_teacher_required_except_for_student(small_models):
    student, _ = small_models
    x_s, _, labels = _batch()
    logits, losses = build_method("student", student, K, {}).forward_train(x_s, None, labels)
    assert logits.shape == (BATCH, K) and set(losses) == {"ce"}
    with pytest.raises(ValueError, match="teacher"):
        build_method("kd", student, K, {}).forward_train(x_s, None, labels)


def test_sembridge_wrapping(monkeypatch, small_models):
    """'X+sembridge' builds X and hands it to SemBridge(base, cfg, teacher_token_dim, student_token_dim)."""
    calls = []

    class FakeSemBridge:
        def __init__(self, base: Distiller, cfg: dict, teacher_token_dim, student_token_dim):
            calls.append((type(base).__name__, cfg, teacher_token_dim, student_token_dim))

    fake = types.ModuleType("ackd_bench.methods.sembridge")
    fake.SemBridge = FakeSemBridge
    monkeypatch.setitem(sys.modules, "ackd_bench.methods.sembridge", fake)
    student, _ = small_models
    cfg = {"w_kd": 0.4}
    assert isinstance(build_method("dkd+sembridge", student, K, cfg, teacher_token_dim=1024), FakeSemBridge)
    assert isinstance(
        build_method("sembridge", student, K, cfg, teacher_token_dim=512, student_token_dim=7), FakeSemBridge
    )
    assert calls == [("DKD", cfg, 1024, 512), ("KD", cfg, 512, 7)]
    assert not isinstance(build_method("dkd", student, K, cfg), FakeSemBridge)


# ----------------------------------------------------------------------------- every method x every pair
_PAIR_CACHE: dict[str, tuple[torch.nn.Module, TeacherOutput]] = {}


def _pair(key: str) -> tuple[torch.nn.Module, TeacherOutput]:
    """Student model + real teacher outputs (10-channel teacher under inference_mode), built once per pair."""
    if key not in _PAIR_CACHE:
        teacher_name, student_name = PAIRS[key]
        torch.manual_seed(0)
        teacher = build_model(teacher_name, 10, K).eval()
        student = build_model(student_name, 3, K)
        _, x_t, _ = _batch(5)
        _PAIR_CACHE[key] = (student, _teacher_outputs(teacher, x_t))
    return _PAIR_CACHE[key]


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_one_training_step(pair: str, name: str):
    student, t = _pair(pair)
    x_s, _, labels = _batch(6)
    method = build_method(name, student, K, {})
    method.train()
    method.on_epoch_start(3, 10)
    opt = torch.optim.SGD(method.learnable_parameters(), lr=0.01)
    opt.zero_grad(set_to_none=True)
    logits, losses = method.forward_train(x_s, t, labels)
    assert logits.shape == (BATCH, K)
    assert set(losses) == ({"ce"} if name == "student" else {"ce", "kd"})
    for term, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), (term, value)
    before = [p.detach().clone() for p in student.parameters()]
    sum(losses.values()).backward()
    grads = [p.grad for p in student.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, student.parameters()))
    if name == "ctkd":
        assert method.temperature.theta.grad is not None and torch.isfinite(method.temperature.theta.grad)
