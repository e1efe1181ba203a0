"""The configuration identity of a run: which runs may share a leaderboard cell (docs/leaderboard.md, "Cells").

A cell is one configuration: (benchmark, method, pairing, pair, config hash), its seeds being the cell's
repeats. The hash is taken over the run's resolved config (result.json["config"]) after
- dropping what may legitimately vary within a cell: `VARYING` (the seed, the device and the retrieval
  backend that follows it, the benchmark folder path, checkpoint and logging intervals, data-loader workers,
  the eval batch size, and the profile's name, whose values are in the config itself);
- dropping SemBridge's options from runs that use neither SemBridge nor its pairings (they are ignored there).
Nothing is filled in from the code's current defaults, so a stored record's hash never changes when a default
does (an option left out and the same option given at its default value are therefore two configurations;
the variant names, which do fill in the method's defaults, show that they do not differ).
The teacher's recipe (`teacher.*`, including `teacher.seed`: a fixed integer or "follow", both constant across
a cell's seeds) stays in the hash: runs distilled from differently trained teachers are different cells.

The variant's readable name is the profile plus the config's difference to that profile's defaults
(e.g. `fast: sembridge.coral_scale=official`), or a name given with `submit --variant NAME`. The leaderboard
ranks the variants whose method hyper-parameters (`METHOD_KEYS`) are at their defaults, and compares methods
trained under the same recipe (`recipe_hash`: everything but the method, its hyper-parameters and the pair).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ackd_bench.config import DEFAULTS, PROFILES, config_hash, deep_update

VARYING = (
    "seed",
    "device",
    "benchmark",
    "checkpoint_every_s",
    "num_workers",  # no longer a config key; records written before its removal still carry it
    "cost_every",
    "eval_batch_size",
    "profile",
)
VARYING_NESTED = (("sembridge", "retrieval_backend"),)
# set by the run itself (method, pair, ...): part of the cell key already, never part of a variant's difference
IDENTITY = ("method", "pairing", "pair", "student_arch")
SSM_PAIRINGS = ("ssm", "ssm-free")


def _method_defaults(method: str) -> dict | None:
    """The base method's `method_args` defaults (None for a method this version does not know)."""
    from ackd_bench.methods import METHODS, split_method_name

    base, _ = split_method_name(method)
    return dict(METHODS.get(base).defaults) if base in METHODS else None


def _sembridge_defaults() -> dict:
    from ackd_bench.methods.sembridge.matcher import MATCHER_DEFAULTS
    from ackd_bench.methods.sembridge.wrapper import SEMBRIDGE_DEFAULTS

    return {**SEMBRIDGE_DEFAULTS, "matcher": dict(MATCHER_DEFAULTS)}


def _fill(defaults: dict, given: Any) -> Any:
    """`defaults` overlaid with `given` (a None value in `given` means the default, as the method reads it)."""
    if not isinstance(given, dict):
        return copy.deepcopy(given)
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _fill(out[key], value)
        elif value is not None or key not in out:
            out[key] = copy.deepcopy(value)
    return out


def canonical_config(config: dict, fill_defaults: bool = False) -> dict:
    """The part of a resolved config that defines the cell; `fill_defaults`: with the method's current defaults
    filled in (`method_args`, SemBridge's and its matcher's options), for showing differences only."""
    cfg = {k: copy.deepcopy(v) for k, v in config.items() if k not in VARYING}
    method = str(cfg.get("method") or "")
    with_sembridge = method == "sembridge" or method.endswith("+sembridge")
    defaults = _method_defaults(method) if fill_defaults and method and cfg.get("method_args") else None
    if defaults is not None:  # (an empty method_args is the defaults already: no import of the methods needed)
        cfg["method_args"] = _fill(defaults, cfg.get("method_args") or {})
    if with_sembridge or cfg.get("pairing") in SSM_PAIRINGS:
        if fill_defaults:
            cfg["sembridge"] = _fill(_sembridge_defaults(), cfg.get("sembridge") or {})
    else:
        cfg.pop("sembridge", None)
    for outer, inner in VARYING_NESTED:
        if isinstance(cfg.get(outer), dict):
            cfg[outer].pop(inner, None)
    return cfg


def identity_hash(config: dict) -> str:
    """16 hex digits identifying the configuration (see the module docstring)."""
    return config_hash(canonical_config(config))


METHOD_KEYS = ("method_args", "sembridge")  # the method's own hyper-parameters; the rest is the training recipe


def recipe_hash(config: dict) -> str:
    """16 hex digits identifying the shared training recipe: the configuration without the method, its own
    hyper-parameters (`METHOD_KEYS`), the pairing and the pair. Methods are compared under the same recipe."""
    cfg = {k: v for k, v in canonical_config(config).items() if k not in (*IDENTITY, *METHOD_KEYS)}
    if isinstance(cfg.get("teacher"), dict):
        cfg["teacher"] = {k: v for k, v in cfg["teacher"].items() if k != "arch"}
    return config_hash(cfg)


def method_at_defaults(diff: dict[str, Any]) -> bool:
    """Whether a config difference leaves the method's own hyper-parameters at their defaults."""
    return not any(key.split(".")[0] in METHOD_KEYS for key in diff)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict) and obj:
        out = {}
        for key in sorted(obj, key=str):
            out.update(_flatten(obj[key], f"{prefix}{key}."))
        return out
    return {prefix[:-1]: obj}


def _reference(config: dict, default_bands: list[str] | None) -> dict:
    """The defaults of the run's profile, with the run's own identity keys (method, pair, ...) copied in."""
    profile = config.get("profile")
    ref = deep_update(DEFAULTS, PROFILES.get(profile, {})) if isinstance(profile, str) else copy.deepcopy(DEFAULTS)
    for key in IDENTITY:
        ref[key] = config.get(key)
    if isinstance(ref.get("teacher"), dict) and isinstance(config.get("teacher"), dict):
        ref["teacher"]["arch"] = config["teacher"].get("arch")
    if not ref.get("bands"):  # the profile leaves the bands to the benchmark (`official` fixes them)
        ref["bands"] = list(default_bands) if default_bands else config.get("bands")
    return ref


def config_diff(config: dict, default_bands: list[str] | None = None) -> dict[str, Any]:
    """{dotted key: value} where the run's canonical config differs from its profile's defaults (keys the
    run has and the defaults lack count too, and so do values the run derived where the default is None).
    `default_bands`: the benchmark's teacher bands, when known. Two configurations can share a name (the hash
    still tells them apart; the leaderboard then appends the hash)."""
    mine_cfg = canonical_config(config, fill_defaults=True)
    ref_cfg = canonical_config(_reference(config, default_bands), fill_defaults=True)
    if mine_cfg.get("method_args") and not ref_cfg.get("method_args"):
        ref_cfg["method_args"] = _method_defaults(str(config.get("method") or "")) or {}
    mine, ref = _flatten(mine_cfg), _flatten(ref_cfg)
    # a default of None filled in by the run (epochs derived from a step budget) is shown too: the record cannot
    # tell it from a value the user chose, and a name must never hide a choice
    return {k: v for k, v in mine.items() if k not in ref or ref[k] != v}


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def variant_label(config: dict, diff: dict[str, Any]) -> str:
    """`<profile>` for a run at its profile's defaults, else `<profile>: key=value, ...`."""
    profile = str(config.get("profile") or "custom")
    return profile if not diff else f"{profile}: " + ", ".join(f"{k}={_value(v)}" for k, v in sorted(diff.items()))
