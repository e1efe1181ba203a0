"""`SemBridge(base, cfg, teacher_token_dim, student_token_dim)`: the plug-in around any base Distiller.

Options live in cfg["sembridge"] (SEMBRIDGE_DEFAULTS; the matcher's in cfg["sembridge"]["matcher"]);
the run-level keys cfg["pairing"] ("ssm" | "ssm-free"), cfg["bands"] and cfg["ms_norm"] are read too.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import torch
from torch import nn

from ackd_bench.config import deep_update
from ackd_bench.errors import ConfigError
from ackd_bench.methods.base import Distiller, TeacherOutput
from ackd_bench.methods.context import RunContext
from ackd_bench.methods.sembridge.coral import CALIBRATED, OFFICIAL_WEIGHT, SCALES, coral, term_weight
from ackd_bench.methods.sembridge.matcher import MatcherInfo, embed, load_matcher, resolve_matcher_cfg, train_matcher
from ackd_bench.methods.sembridge.matching import (
    batched_forward,
    dynm_match,
    pairing_table,
    retrieve,
)
from ackd_bench.methods.sembridge.planner import Planner, pool_tokens, refine, token_weights
from ackd_bench.methods.sembridge.schedule import dynm_epochs
from ackd_bench.models import BackboneOutput
from ackd_bench.runtime import distributed, faults

SEMBRIDGE_DEFAULTS: dict[str, Any] = {
    "no_ssm": False,
    "no_dynm": False,
    "no_ot1": False,
    "no_ot2": False,
    "dynm_epochs": None,  # explicit list of 0-based epochs; overrides dynm_schedule
    "dynm_schedule": "S2S_EU",  # paper table name or {e0, de, em, rounds}; scaled to short runs
    "dynm_tau": 3.0,
    "planner_dim": 512,
    "planner_heads": 8,
    "coral_scale": "deep_coral",  # or "official"
    "loss_form": "code",  # code: w_ce CE + w_kd L_kd + w_ot1 L_ot1 + w_ot2 L_ot2; paper: 1, l1, 1 - l1
    "lambda1": 0.5,
    # the code form's SKA weight, one per CORAL scale (coral.py): "calibrated" = 0.003 * 255^2 / d per term
    # (the official strength at the official batch 256); a number = that weight for both terms
    "w_ot": {"deep_coral": CALIBRATED, "official": OFFICIAL_WEIGHT},
    "retrieval_backend": "auto",  # auto | faiss | torch
    "matcher": {},  # matcher options (matcher.MATCHER_DEFAULTS)
}
LOSS_FORMS = {"code": "code", "official": "code", "paper": "paper"}


def sembridge_options(cfg: dict) -> dict[str, Any]:
    """SemBridge options: SEMBRIDGE_DEFAULTS overlaid with cfg["sembridge"] (unknown keys: ConfigError)."""
    given = dict(cfg.get("sembridge") or {})
    unknown = sorted(set(given) - set(SEMBRIDGE_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown sembridge option(s) {', '.join(unknown)} (known: {', '.join(SEMBRIDGE_DEFAULTS)})")
    opts = {k: d if given.get(k) is None else given[k] for k, d in SEMBRIDGE_DEFAULTS.items()}
    if opts["coral_scale"] not in SCALES:
        raise ConfigError(f"unknown sembridge.coral_scale {opts['coral_scale']!r} (known: {', '.join(SCALES)})")
    opts["w_ot"] = _ot_weights(given.get("w_ot"))
    if opts["loss_form"] not in LOSS_FORMS:
        raise ConfigError(f"unknown sembridge.loss_form {opts['loss_form']!r} (known: code, paper)")
    opts["loss_form"] = LOSS_FORMS[opts["loss_form"]]
    if not 0.0 <= float(opts["lambda1"]) <= 1.0:
        raise ConfigError(f"sembridge.lambda1 must be in [0, 1], got {opts['lambda1']!r}")
    if opts["no_ssm"]:
        # no matcher: the engine's random protocol pairs, exactly as for the baseline it is compared with
        # (random redrawn per epoch, or random-fixed); not oracle (DynM re-pairs from teacher TRAIN, oracle's
        # gallery is the SCKD tiles), not ssm/ssm-free (no matcher runs)
        pairing = cfg.get("pairing") or "random"
        if pairing not in ("random", "random-fixed"):
            raise ConfigError(
                f"pairing {pairing!r} with sembridge.no_ssm (--no-ssm): without the matcher SemBridge "
                "pairs like the baselines; use --pairing random or random-fixed, or leave it out"
            )
        opts["pairing"] = pairing
        return opts
    pairing = cfg.get("pairing") or "ssm"
    if pairing not in ("ssm", "ssm-free"):
        raise ConfigError(
            f"pairing {pairing!r}: SemBridge pairs by its matcher (ssm or ssm-free), or randomly with sembridge.no_ssm"
        )
    opts["pairing"] = pairing
    return opts


def _ot_weights(given: Any) -> dict[str, float | str]:
    """sembridge.w_ot: a mapping CORAL scale -> weight, merged over the defaults (a bare number is refused:
    a weight tuned for one scale is 127x off for the other at batch 256)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ConfigError(
            f"sembridge.w_ot={given!r}: expected a mapping per CORAL scale, e.g. "
            f"{{deep_coral: {CALIBRATED}, official: {OFFICIAL_WEIGHT}}} (each scale has its own weight)"
        )
    unknown = sorted(set(given) - set(SCALES))
    if unknown:
        raise ConfigError(f"sembridge.w_ot: unknown CORAL scale(s) {', '.join(unknown)} (known: {', '.join(SCALES)})")
    out = {**SEMBRIDGE_DEFAULTS["w_ot"], **given}
    for scale, w in out.items():
        ok_number = isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0
        if not ok_number and not (scale == "deep_coral" and w == CALIBRATED):
            allowed = f"{CALIBRATED!r} or a number >= 0" if scale == "deep_coral" else "a number >= 0"
            raise ConfigError(f"sembridge.w_ot.{scale}={w!r}: expected {allowed}")
    return out


class SemBridge(Distiller):
    """Adds SKA losses (ot1, ot2) to a base method and provides the SFM pairing hooks.

    A Distiller whose student, loss weights, method_args and epoch state are its base method's: it delegates to
    the base instead of keeping copies (so it does not run Distiller.__init__, which would parse them again)."""

    uses_teacher = True
    pairing_protocols = ("ssm", "ssm-free")

    @classmethod
    def finalize_config(cls, cfg: dict) -> dict:
        """SEMBRIDGE_DEFAULTS merged into cfg["sembridge"] (once, here; the matcher's own defaults stay with the
        matcher) and the pairing default: ssm, or random with no_ssm. Bad options fail here, early."""
        out = super().finalize_config({**cfg, "pairing": cfg.get("pairing") or "ssm"})
        given = {k: v for k, v in (cfg.get("sembridge") or {}).items() if v is not None}
        out["sembridge"] = deep_update(SEMBRIDGE_DEFAULTS, given)
        if cfg.get("pairing") is None and out["sembridge"].get("no_ssm"):
            out["pairing"] = "random"
        sembridge_options(out)
        return out

    def __init__(self, base: Distiller, cfg: dict, teacher_token_dim: int, student_token_dim: int):
        nn.Module.__init__(self)
        self.base = base
        self.cfg = dict(cfg)
        self.opts = sembridge_options(self.cfg)
        self.matcher_cfg = dict(self.opts["matcher"] or {})
        resolve_matcher_cfg(self.matcher_cfg)  # validate early
        self.name = f"{base.name}+sembridge"
        self.scale = self.opts["coral_scale"]
        if self.opts["loss_form"] == "paper":  # 1, l1, 1 - l1 whatever the CORAL scale (the paper's is unknown)
            lam = float(self.opts["lambda1"])
            base.set_loss_weights(1.0, lam)
            self.w_ot = 1.0 - lam
        else:
            self.w_ot = self.opts["w_ot"][self.scale]
        self.ot_weights: dict[str, float] = {}  # the weight each term got (per-term when calibrated), recorded
        dim, heads = int(self.opts["planner_dim"]), int(self.opts["planner_heads"])
        self.teacher_planner = Planner(teacher_token_dim, dim, heads)
        self.student_planner = Planner(student_token_dim, dim, heads)
        # student tokens -> teacher token width when they differ (L_ot1 compares flattened tokens)
        self.align = (
            nn.Identity()
            if student_token_dim == teacher_token_dim
            else nn.Linear(student_token_dim, teacher_token_dim, bias=False)
        )
        self.matcher_info: MatcherInfo | None = None
        self.dynm_schedule: list[int] = []

    # --- Distiller API: the base's state; forward/forward_train/learnable_parameters are inherited ----------
    @property
    def student(self) -> nn.Module:
        return self.base.student

    @property
    def epoch(self) -> int:
        return self.base.epoch

    @property
    def num_classes(self) -> int:
        return self.base.num_classes

    def ot1_features(self, s_tokens: torch.Tensor, t_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Planner-refined student and teacher tokens, aligned to a common N x C (L_ot1 compares them)."""
        if t_tokens is None:
            raise ConfigError("SemBridge L_ot1 needs teacher tokens in the teacher-output cache")
        z_t = refine(t_tokens, token_weights(self.teacher_planner(t_tokens)))
        z_s = refine(s_tokens, token_weights(self.student_planner(s_tokens)))
        z_s = self.align(z_s)
        n = min(z_t.shape[1], z_s.shape[1])
        return pool_tokens(z_s, n), pool_tokens(z_t, n)

    def weighted_coral(self, name: str, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """w * CORAL(source, target) with the weight of this scale for a term of this dimension."""
        dim = source[0].numel()
        weight = term_weight(self.scale, self.w_ot, dim)
        self.ot_weights[name] = weight
        return weight * coral(source, target, self.scale)

    def get_extra_state(self) -> dict[str, float]:
        """The applied per-term weights travel with the checkpoint, so a resumed run records the same ones."""
        return dict(self.ot_weights)

    def set_extra_state(self, state: dict[str, float]) -> None:
        self.ot_weights = {str(k): float(v) for k, v in (state or {}).items()}

    def compute_losses(self, s: BackboneOutput, t: TeacherOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        losses = dict(self.base.compute_losses(s, t, labels))
        if not self.opts["no_ot1"]:
            losses["ot1"] = self.weighted_coral("ot1", *self.ot1_features(s.tokens, t.tokens))
        if not self.opts["no_ot2"]:
            losses["ot2"] = self.weighted_coral("ot2", s.embedding, t.embedding)
        return losses

    def sembridge_modules(self) -> list[nn.Module]:
        return [self.teacher_planner, self.student_planner, self.align]

    def extra_modules(self) -> list[nn.Module]:
        return list(self.base.extra_modules()) + self.sembridge_modules()

    def on_epoch_start(self, epoch: int, num_epochs: int) -> None:
        self.base.on_epoch_start(epoch, num_epochs)

    # --- SFM hooks ------------------------------------------------------------------------------
    def run_bands(self, ctx: RunContext) -> tuple[str, ...]:
        """The run's teacher band names (resolved once, in the context), checked against the teacher inputs."""
        bands = ctx.bands or ctx.bench.run_bands(ctx.cfg.get("bands"))
        if len(bands) != ctx.teacher_train.x.shape[1]:
            raise ConfigError(
                f"SemBridge: {len(bands)} bands {list(bands)} but teacher inputs have "
                f"{ctx.teacher_train.x.shape[1]} channels"
            )
        return bands

    def initial_pairing(self, ctx: RunContext) -> pd.DataFrame | None:
        """Round 0: SSM retrieval (class-conditional 'ssm' or label-free 'ssm-free'); None with no_ssm, so the
        engine's protocol (random or random-fixed, as for the baselines) pairs until a DynM round."""
        s, t = ctx.student_train, ctx.teacher_train
        if self.opts["no_ssm"]:
            return None
        start = time.perf_counter()
        bands = self.run_bands(ctx)
        # the matcher sees MS normalised exactly like the run's teacher inputs (the gallery is ctx.teacher_train)
        cfg = {"seed": int(ctx.seed), **self.matcher_cfg, "norm": ctx.cfg.get("ms_norm", "mean_std")}
        with distributed.main_first():  # torchrun: rank 0 trains/caches the matcher, the others then load it
            self.matcher_info = train_matcher(ctx.bench, cfg, ctx.device, ctx.cache_dir, bands=bands)
        ctx.add_time("matcher", time.perf_counter() - start)
        start = time.perf_counter()
        matcher = load_matcher(self.matcher_info.path, ctx.device, self.matcher_info.sha256)
        # gallery and queries: one block of rows per rank under torchrun, gathered in order (all rows otherwise)
        t_emb = distributed.gather_rows(
            lambda rows: embed(matcher.encode_ms, len(t.x[rows]), lambda sl: t.x[rows][sl].to(ctx.device)), len(t.x)
        )
        s_emb = distributed.gather_rows(
            lambda rows: embed(matcher.encode_rgb, len(s.x[rows]), lambda sl: s.x[rows][sl].to(ctx.device)), len(s.x)
        )
        conditional = self.opts["pairing"] == "ssm"
        scores, idx = retrieve(
            s_emb,
            t_emb,
            s.labels if conditional else None,
            t.labels if conditional else None,
            self.opts["retrieval_backend"],
        )
        ctx.add_time("gallery", time.perf_counter() - start)
        return pairing_table(
            s.sample_ids,
            t.sample_ids,
            idx,
            scores,
            round_idx=0,
            epoch=0,
            protocol=self.opts["pairing"],
            matcher_sha256=self.matcher_info.sha256,
        )

    def rematch_epochs(self, num_epochs: int) -> list[int]:
        """DynM epochs for a run of `num_epochs` (none with no_dynm)."""
        if self.opts["no_dynm"]:
            self.dynm_schedule = []
        else:
            self.dynm_schedule = dynm_epochs(num_epochs, self.opts["dynm_epochs"] or self.opts["dynm_schedule"])
        return list(self.dynm_schedule)

    def rematch(self, ctx: RunContext, epoch: int, round_idx: int) -> pd.DataFrame:
        """DynM: re-pair every student train image with its min-KL same-class teacher (current student)."""
        s, t = ctx.student_train, ctx.teacher_train
        # student logits: one block of rows per rank under torchrun, gathered; every rank then matches alike
        s_logits = distributed.gather_rows(lambda rows: batched_forward(self.base.student, s.x[rows]), len(s.x))
        t_logits = ctx.teacher_outputs.logits.to(s_logits.device)
        idx, kl = dynm_match(
            s_logits,
            t_logits,
            s.labels.to(s_logits.device),
            t.labels.to(s_logits.device),
            float(self.opts["dynm_tau"]),
            self.opts["retrieval_backend"],
        )
        sha = self.matcher_info.sha256 if self.matcher_info else None
        faults.reached("dynm_round")  # crash tests (runtime/faults.py); a no-op otherwise
        return pairing_table(
            s.sample_ids, t.sample_ids, idx, -kl, round_idx=round_idx, epoch=epoch, protocol="dynm", matcher_sha256=sha
        )

    def record_extra(self) -> dict:
        out = dict(self.base.record_extra())
        out["sembridge"] = {
            "ssm": not self.opts["no_ssm"],
            "dynm": not self.opts["no_dynm"],
            "ot1": not self.opts["no_ot1"],
            "ot2": not self.opts["no_ot2"],
            "dynm_epochs": list(self.dynm_schedule),
            "coral_scale": self.scale,
            "ot_weights": dict(self.ot_weights),  # per term, as applied
            "matcher": self.matcher_info.summary() if self.matcher_info else None,
        }
        return out
