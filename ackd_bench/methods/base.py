"""Distiller base class (in the spirit of mdistiller's), TeacherOutput and the METHODS registry."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ackd_bench.config import DEFAULTS
from ackd_bench.errors import ConfigError
from ackd_bench.models.base import BackboneOutput
from ackd_bench.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

    from ackd_bench.methods.context import RunContext

W_CE_DEFAULT: float = DEFAULTS["w_ce"]
W_KD_DEFAULT: float = DEFAULTS["w_kd"]

# Epoch schedules written for the official run length (DynM epochs, DKD's and CTKD's warm-ups) are scaled to
# shorter runs by min(1, E / REFERENCE_EPOCHS) (config key `warmups`).
REFERENCE_EPOCHS = 200  # official main_config.py epochs
WARMUPS = ("scaled", "absolute", "official")


def run_length_factor(num_epochs: int, reference: int = REFERENCE_EPOCHS) -> float:
    """min(1, num_epochs / reference): how much a schedule written for `reference` epochs shrinks."""
    return min(1.0, int(num_epochs) / reference)


def warmup_length(epochs: float, num_epochs: int, mode: str) -> float:
    """A warm-up of `epochs` (written for REFERENCE_EPOCHS) in a run of `num_epochs`: scaled by
    run_length_factor in mode 'scaled' (fractional lengths are fine for a ramp), as given otherwise."""
    return float(epochs) * run_length_factor(num_epochs) if mode == "scaled" else float(epochs)


class TeacherOutput(NamedTuple):
    """Teacher outputs for one batch; never part of the autograd graph of the student."""

    logits: torch.Tensor
    embedding: torch.Tensor
    tokens: torch.Tensor | None = None

    def detached(self) -> "TeacherOutput":
        """Detached copies usable in autograd (inference-mode tensors are cloned into normal ones)."""

        def fix(t: torch.Tensor | None) -> torch.Tensor | None:
            if t is None:
                return None
            t = t.detach()
            return t.clone() if t.is_inference() else t

        return TeacherOutput(fix(self.logits), fix(self.embedding), fix(self.tokens))


METHODS: Registry[type["Distiller"]] = Registry("method")


def _coerce(method: str, key: str, default: Any, value: Any) -> Any:
    """Cast a method_args override to the type of its default (ConfigError when impossible)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"method {method!r}: method_args.{key} must be true/false, got {value!r}")
        return value
    try:
        if isinstance(default, int):
            if isinstance(value, bool) or float(value) != int(value):
                raise ValueError
            return int(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"method {method!r}: method_args.{key} must be a {type(default).__name__}, got {value!r}"
        ) from None
    return value


class Distiller(nn.Module):
    """Holds the student (never the teacher). Subclasses implement `compute_losses`.

    `forward_train` returns (student_logits, losses) where losses are ALREADY WEIGHTED scalar terms
    (name -> tensor); the engine sums them and logs each by name.
    """

    name: ClassVar[str] = "base"
    defaults: ClassVar[dict[str, Any]] = {}
    uses_teacher: ClassVar[bool] = True
    # pairing protocols this method's hooks provide (`initial_pairing`); the engine's Pairer owns the others
    pairing_protocols: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def finalize_config(cls, cfg: dict) -> dict:
        """A new run config with this method's run-time options filled in (the engine calls it once, before a
        teacher is trained; the argument is left as it is). Default: pairing `random` unless one is given."""
        out = copy.deepcopy(cfg)
        if out.get("pairing") is None:
            out["pairing"] = "random"
        return out

    def __init__(self, student: nn.Module, num_classes: int, cfg: dict | None = None):
        super().__init__()
        cfg = dict(cfg or {})
        self.student = student
        self.num_classes = int(num_classes)
        self.cfg = cfg
        self.w_ce = float(cfg.get("w_ce", W_CE_DEFAULT))
        self.w_kd = float(cfg.get("w_kd", W_KD_DEFAULT))
        args = cfg.get("method_args") or {}
        if not isinstance(args, dict):
            raise ConfigError(f"method {self.name!r}: method_args must be a mapping, got {args!r}")
        unknown = sorted(set(args) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise ConfigError(f"method {self.name!r}: unknown method_args {', '.join(unknown)} (known: {known})")
        self.hparams: dict[str, Any] = {
            k: _coerce(self.name, k, d, args[k]) if k in args else d for k, d in self.defaults.items()
        }
        self.warmups = cfg.get("warmups") or "scaled"
        if self.warmups not in WARMUPS:
            raise ConfigError(f"config warmups={self.warmups!r}: expected one of {', '.join(WARMUPS)}")
        self.epoch = 0
        self.num_epochs = REFERENCE_EPOCHS  # set by on_epoch_start

    # --- training API -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> BackboneOutput:
        return self.student(x)

    def forward_train(
        self, student_x: torch.Tensor, teacher: TeacherOutput | None, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Student forward + weighted loss terms."""
        s_out = self.student(student_x)
        if teacher is not None:
            teacher = TeacherOutput(*teacher).detached()
        elif self.uses_teacher:
            raise ValueError(f"method {self.name!r} needs teacher outputs")
        return s_out.logits, self.compute_losses(s_out, teacher, labels)

    def compute_losses(
        self, s: BackboneOutput, t: TeacherOutput | None, labels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The loss terms by name, each ALREADY weighted (`ce` and `kd` at least); their sum is the loss.
        `t` is None only for a method with `uses_teacher = False`; teacher outputs arrive detached."""
        raise NotImplementedError

    def set_loss_weights(self, w_ce: float, w_kd: float) -> None:
        """Use these task and distillation weights instead of the config's (a wrapper such as SemBridge's paper
        loss form asks for its own)."""
        self.w_ce, self.w_kd = float(w_ce), float(w_kd)

    def ce(self, s: BackboneOutput, labels: torch.Tensor) -> torch.Tensor:
        """Weighted task loss w_ce * CE."""
        return self.w_ce * F.cross_entropy(s.logits, labels)

    def extra_modules(self) -> list[nn.Module]:
        """Learnable modules besides the student (e.g. the CTKD temperature)."""
        return []

    def learnable_parameters(self) -> list[nn.Parameter]:
        """What the optimiser trains: the student's parameters, then those of `extra_modules()`."""
        params = list(self.student.parameters())
        for module in self.extra_modules():
            params.extend(module.parameters())
        return params

    def on_epoch_start(self, epoch: int, num_epochs: int) -> None:
        """Called by the engine before each epoch (0-based `epoch`)."""
        self.epoch = int(epoch)
        self.num_epochs = int(num_epochs)

    # --- pairing hooks (SemBridge overrides them; plain methods do nothing) ---------------------
    # `ctx` is the run's ackd_bench.methods.context.RunContext (not imported here: it imports this module).
    def initial_pairing(self, ctx: RunContext) -> pd.DataFrame | None:
        """The method's own round-0 pairing table, or None to pair by the run's protocol."""
        return None

    def rematch_epochs(self, num_epochs: int) -> list[int]:
        """The 0-based epochs at whose start the method re-pairs (`rematch`); none by default."""
        return []

    def rematch(self, ctx: RunContext, epoch: int, round_idx: int) -> pd.DataFrame | None:
        """The pairing table of re-matching round `round_idx` (1, 2, ...), computed at the start of `epoch`."""
        return None

    def record_extra(self) -> dict:
        """Extra top-level result.json keys; each must be a field of result_record.ResultRecord."""
        return {}
