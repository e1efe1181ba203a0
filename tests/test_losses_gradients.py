"""Which inputs each method's loss terms send gradient to (issue 11 §3).

The student is a module whose outputs ARE its parameters (tokens, embedding, logits), so the gradient each
output receives is read directly; the teacher outputs are leaves that require grad, passed the way the
engine passes them (`forward_train`). Closed-form / finite-difference values are in test_losses_golden.py.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ackd_bench.methods import TeacherOutput, build_method, method_names
from ackd_bench.models import BackboneOutput

B, K, N, C = 6, 4, 4, 16

# the student outputs each KD term depends on (ce always uses the logits; ot1 the tokens, ot2 the embedding)
KD_INPUTS = {
    "kd": {"logits"},
    "logits": {"logits"},
    "dkd": {"logits"},
    "ctkd": {"logits"},
    "lskd": {"logits"},
    "rkd": {"embedding"},
    "distilvpr": {"embedding"},
}
TERM_INPUTS = {"ce": {"logits"}, "ot1": {"tokens"}, "ot2": {"embedding"}}


class OutputsAsParameters(nn.Module):
    """A student whose outputs are its own parameters (the input batch is ignored)."""

    token_dim = C

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.tokens = nn.Parameter(torch.randn(B, N, C, generator=g))
        self.embedding = nn.Parameter(torch.randn(B, 512, generator=g))
        self.logits = nn.Parameter(torch.randn(B, K, generator=g))

    def forward(self, x: torch.Tensor) -> BackboneOutput:
        return BackboneOutput(self.tokens, self.embedding, self.logits)


def _teacher_leaves() -> TeacherOutput:
    g = torch.Generator().manual_seed(1)
    return TeacherOutput(
        torch.randn(B, K, generator=g).requires_grad_(True),
        torch.randn(B, 512, generator=g).requires_grad_(True),
        torch.randn(B, N, C, generator=g).requires_grad_(True),
    )


def _grads(name: str, term: str) -> tuple[set[str], TeacherOutput, nn.Module]:
    student = OutputsAsParameters()
    method = build_method(name, student, K, {}, teacher_token_dim=C)
    method.on_epoch_start(150, 200)  # past every warm-up: DKD at full weight, CTKD lambda = 1
    teacher = _teacher_leaves()
    _, losses = method.forward_train(torch.zeros(B, 3, 8, 8), teacher, torch.arange(B) % K)
    losses[term].backward()
    got = {
        n
        for n in ("tokens", "embedding", "logits")
        if getattr(student, n).grad is not None and getattr(student, n).grad.abs().sum() > 0
    }
    return got, teacher, method


def _cases() -> list[tuple[str, str, set[str]]]:
    cases = []
    for name in method_names():
        base, bridged = (name.split("+")[0], True) if "+" in name else (name, False)
        if name == "sembridge":
            base, bridged = "kd", True
        cases.append((name, "ce", TERM_INPUTS["ce"]))
        if base != "student":
            cases.append((name, "kd", KD_INPUTS[base]))
        if bridged:
            cases += [(name, "ot1", TERM_INPUTS["ot1"]), (name, "ot2", TERM_INPUTS["ot2"])]
    return cases


@pytest.mark.parametrize("name,term,expected", _cases())
def test_each_term_reaches_exactly_the_student_outputs_of_its_formula(name: str, term: str, expected: set[str]):
    got, teacher, method = _grads(name, term)
    assert got == expected
    assert all(t.grad is None for t in teacher if t is not None)  # the teacher never receives gradient
    if "sembridge" in name:  # the planners learn through L_ot1 only
        planners = [p for m in (method.student_planner, method.teacher_planner) for p in m.parameters()]
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in planners) == (term == "ot1")


def test_every_method_is_covered():
    covered = {name for name, _, _ in _cases()}
    assert covered == set(method_names())
    assert set(KD_INPUTS) | {"student"} == {n for n in method_names() if "sembridge" not in n}
