"""Where a run departs from the official ACKD code (github.com/weirl-922/ACKD @ 21a20f8), computed, not claimed.

`OFFICIAL` lists every setting of the official student protocol that a config can change, with the official
value (sembridge-spec.md §2.3, §3, §5; docs/fidelity.md explains each row). `fidelity_record(cfg, method)`
compares the RESOLVED run (config plus the method's resolved hyper-parameters) against it, so a default that
changes later shows up in the record of every run it affects. `FIXES` are the official-code bugs
(sembridge-spec.md §7.6) that every profile, `official` included, keeps fixed; the record lists those that
touch the run. `--profile official` (config.PROFILES) sets every row of `OFFICIAL` explicitly, so its
deviation list holds only the UNCONFIGURABLE differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ackd_bench.config import OFFICIAL_PROFILE
from ackd_bench.data.bands import BAND_SETS

# What the official code read from a EuroSAT-MS GeoTIFF (rasterio bands 1-7, 10, 11, 12): data/bands.py "paper10".
PAPER10 = list(BAND_SETS["paper10"])

# The official student base-method hyper-parameters (Distillers/cfg.py, the Distillers/*.py files, train.py).
# CTKD never ran in the official code (spec §7.6 #11): no reference values.
OFFICIAL_METHOD_ARGS: dict[str, dict[str, Any]] = {
    "kd": {"T": 3.0, "t2": False},
    "logits": {"scale": 0.01},
    "rkd": {"w_dist": 25.0, "w_angle": 50.0, "scale": 0.1},
    "dkd": {"alpha": 1.0, "beta": 8.0, "T": 4.0, "warmup": 20},
    "lskd": {"T": 3.0},
    "distilvpr": {"stop_grad": True},
}

# The official matcher (configration/config_matcher.py, train_matcher.py, model/CLIP*.py): the `official`
# profile's values, stated once in config.OFFICIAL_PROFILE.
OFFICIAL_MATCHER: dict[str, Any] = OFFICIAL_PROFILE["sembridge"]["matcher"]


@dataclass(frozen=True)
class Setting:
    key: str  # where the run's value lives (config path or method/sembridge option)
    official: Any
    value: Callable[[dict, Any], Any]  # (resolved config, built method) -> the run's value
    applies: Callable[[dict, Any], bool] = lambda cfg, method: True


def _bridged(method: Any) -> bool:
    return hasattr(method, "opts") and hasattr(method, "base")


def _base(method: Any) -> Any:
    return method.base if _bridged(method) else method


def _cfg(path: str, default: Any = None) -> Callable[[dict, Any], Any]:
    def get(cfg: dict, method: Any) -> Any:
        node: Any = cfg
        for part in path.split("."):
            node = node.get(part, default) if isinstance(node, dict) else default
        return node

    return get


def _epochs(section: str | None) -> Callable[[dict, Any], Any]:
    """The epochs of the run (section None) or of cfg[section]; a step budget not yet turned into epochs is
    shown as "<steps> steps"."""

    def get(cfg: dict, method: Any) -> Any:
        node = cfg.get(section) or {} if section else cfg
        if node.get("epochs") is None and node.get("steps") is not None:
            return f"{node['steps']} steps"
        return node.get("epochs")

    return get


def _sem(key: str) -> Callable[[dict, Any], Any]:
    return lambda cfg, method: method.opts[key]


def _matcher(key: str) -> Callable[[dict, Any], Any]:
    def get(cfg: dict, method: Any) -> Any:
        from ackd_bench.methods.sembridge.matcher import MATCHER_DEFAULTS  # lazy: only SemBridge runs need it

        return (method.matcher_cfg or {}).get(key, MATCHER_DEFAULTS[key])

    return get


def _uses_matcher(cfg: dict, method: Any) -> bool:
    return _bridged(method) and not method.opts["no_ssm"]


def _distils(cfg: dict, method: Any) -> bool:
    return _base(method).name != "student"  # the CE-only baseline has no official counterpart


def _has_warmup(cfg: dict, method: Any) -> bool:
    return _base(method).name in ("dkd", "ctkd")


OFFICIAL: list[Setting] = [
    # the student's training protocol (main_config.py, train.py)
    Setting("epochs", 200, _epochs(None)),
    Setting("batch_size", 256, _cfg("batch_size")),
    Setting("optimizer", "adam", _cfg("optimizer")),
    Setting("lr", 1e-3, _cfg("lr")),
    Setting("weight_decay", 0.0, _cfg("weight_decay")),
    Setting("cosine", False, _cfg("cosine")),
    Setting("augment", "none", _cfg("augment", "none")),
    Setting("w_ce", 0.3, lambda cfg, method: _base(method).w_ce, _distils),
    Setting("w_kd", 0.4, lambda cfg, method: _base(method).w_kd, _distils),
    Setting("warmups", "official", _cfg("warmups", "scaled"), _has_warmup),
    # the teacher (train_teacher.py)
    Setting("teacher.epochs", 200, _epochs("teacher")),
    Setting("teacher.batch_size", 256, _cfg("teacher.batch_size")),
    Setting("teacher.optimizer", "adam", _cfg("teacher.optimizer")),
    Setting("teacher.lr", 1e-3, _cfg("teacher.lr")),
    Setting("teacher.weight_decay", 0.0, _cfg("teacher.weight_decay")),
    Setting("teacher.cosine", False, _cfg("teacher.cosine")),
    Setting("teacher.augment", "none", _cfg("teacher.augment", "none")),
    # inputs (utils/dataset.py, S2S_EU)
    Setting("bands", PAPER10, lambda cfg, method: list(cfg["bands"] or [])),
    Setting("ms_norm", "per_image_max", _cfg("ms_norm")),
    # SemBridge (train.py, utils/loss_kd.py, model/attention.py)
    Setting("sembridge.coral_scale", "official", _sem("coral_scale"), lambda cfg, method: _bridged(method)),
    Setting(
        "sembridge.w_ot",
        0.003,
        lambda cfg, method: method.opts["w_ot"][method.opts["coral_scale"]],
        lambda cfg, method: _bridged(method) and method.opts["loss_form"] == "code",
    ),
    Setting("sembridge.loss_form", "code", _sem("loss_form"), lambda cfg, method: _bridged(method)),
    Setting("sembridge.dynm_tau", 3.0, _sem("dynm_tau"), lambda cfg, method: _bridged(method)),
    Setting("sembridge.planner_dim", 512, _sem("planner_dim"), lambda cfg, method: _bridged(method)),
    Setting("sembridge.planner_heads", 8, _sem("planner_heads"), lambda cfg, method: _bridged(method)),
] + [
    Setting(f"sembridge.matcher.{key}", official, _matcher(key), _uses_matcher)
    for key, official in OFFICIAL_MATCHER.items()
]


# Differences no setting can remove yet: listed in every record (docs/fidelity.md, "not configurable").
UNCONFIGURABLE: list[dict[str, Any]] = [
    {
        "key": "student_norm",
        "official": "(x / 255 - 0.5) / 0.5 per channel",
        "run": "(x / 255 - mean_c) / std_c with student-train statistics",
    },
]


@dataclass(frozen=True)
class Fix:
    id: str  # a row of docs/fidelity.md
    spec_item: int  # sembridge-spec.md §7.6 item
    applies: Callable[[dict, Any], bool] = lambda cfg, method: True


def _pair_has_shufflenet(cfg: dict, method: Any) -> bool:
    archs = (cfg.get("student_arch"), (cfg.get("teacher") or {}).get("arch"))
    return any("shufflenet" in str(a or "") for a in archs)


FIXES: list[Fix] = [
    Fix("splits_and_selection", 4),  # seeded train/val/test; test OA at the best-val epoch
    Fix("teacher_no_grad", 15),
    Fix("matcher_checkpoint", 6, _uses_matcher),
    Fix("matcher_lr_schedule", 7, _uses_matcher),
    Fix("pseudo_rgb_normalisation", 8, _uses_matcher),
    Fix("pseudo_rgb_bands", 9, _uses_matcher),
    Fix("shufflenet_tokens", 10, lambda cfg, method: _bridged(method) and _pair_has_shufflenet(cfg, method)),
    Fix("ctkd_runs", 11, lambda cfg, method: _base(method).name == "ctkd"),
    Fix("rkd_gradient", 12, lambda cfg, method: _base(method).name == "rkd"),
    Fix("distilvpr_runs", 13, lambda cfg, method: _base(method).name == "distilvpr"),
    Fix("train_only_galleries", 20, lambda cfg, method: _bridged(method)),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
    return a == b


def deviations(cfg: dict, method: Any) -> list[dict[str, Any]]:
    """[{key, official, run}] for every official setting the run departs from (under --profile official only
    the UNCONFIGURABLE ones)."""
    out = [
        {"key": s.key, "official": s.official, "run": s.value(cfg, method)}
        for s in OFFICIAL
        if s.applies(cfg, method) and not _same(s.value(cfg, method), s.official)
    ]
    base = _base(method)
    for key, official in OFFICIAL_METHOD_ARGS.get(base.name, {}).items():
        run = base.hparams.get(key)
        if not _same(run, official):
            out.append({"key": f"method_args.{key}", "official": official, "run": run})
    return out + [dict(d) for d in UNCONFIGURABLE]


def fidelity_record(cfg: dict, method: Any) -> dict[str, Any]:
    """result.json["fidelity"]: the profile, the deviations in effect, and the official bugs kept fixed."""
    return {
        "profile": cfg.get("profile"),
        "reference": "github.com/weirl-922/ACKD@21a20f8",
        "deviations": deviations(cfg, method),
        "fixes": [f.id for f in FIXES if f.applies(cfg, method)],
    }
