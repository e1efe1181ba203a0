"""Run configuration: defaults, the `paper` and `fast` profiles, YAML overrides, CLI overrides, hashes.

Resolution order (later wins): DEFAULTS -> PROFILES[profile] -> `--config FILE` (YAML mapping) -> CLI flags.
The fully resolved dict is saved as RUN_DIR/config.yaml and copied into result.json["config"].
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from ackd_bench.errors import ConfigError
from ackd_bench.io import sha256_bytes

# Every key a config may hold. Nested dicts (method_args, sembridge, teacher) merge key by key.
DEFAULTS: dict[str, Any] = {
    "benchmark": None,  # benchmark folder (as typed)
    "method": None,  # e.g. kd, dkd+sembridge
    "pair": None,  # R-R, ... or teacher:student
    "student_arch": None,  # from the pair
    "device": "auto",  # auto | cpu | cuda
    "profile": "paper",
    "seed": 0,
    "epochs": 200,
    "batch_size": 256,
    "eval_batch_size": 512,
    "optimizer": "adam",  # adam | sgd
    "lr": 1e-3,
    "weight_decay": 0.0,
    "momentum": 0.9,  # sgd only
    "cosine": False,  # cosine annealing over `epochs` (per epoch)
    "w_ce": 0.3,
    "w_kd": 0.4,
    "method_args": {},
    "pairing": None,  # random | random-fixed | oracle | ssm | ssm-free; None -> ssm for +sembridge, else random
    # SemBridge options (checked by methods/sembridge: SEMBRIDGE_DEFAULTS, its "matcher" mapping holds the
    # SSM matcher's options); the engine fills in their defaults when it resolves a run.
    "sembridge": {},
    "teacher": {
        "arch": None,  # from the pair
        "seed": 0,  # an integer: fixed across student seeds (one shared teacher); "follow": the run's seed
        "epochs": 200,
        "lr": 1e-3,
        "batch_size": 256,
        "optimizer": "adam",
        "weight_decay": 0.0,
        "momentum": 0.9,
        "cosine": False,
    },
    "teacher_mode": "cached",  # cached | live
    "bands": None,  # list of band names; None -> the benchmark card's teacher_bands
    "ms_norm": "mean_std",  # mean_std | per_image_max
    "deterministic": True,
    "num_workers": 0,  # data lives in memory as tensors; kept for config compatibility
    "cost_every": 0,  # every K epochs log transport costs (0 = never)
    # 0 = last.pt after every epoch (the runner contract); N > 0 = at the first epoch end N seconds after the
    # previous write, and after the last epoch (big models on fast GPUs). Resume is exact either way.
    "checkpoint_every_s": 0,
}

PROFILES: dict[str, dict[str, Any]] = {
    # The official code's protocol (sembridge-spec.md §5): Adam 1e-3, batch 256, 200 epochs, no weight decay.
    "paper": {},
    # A CPU demo: a few epochs at batch 32 (the default benchmark has 60 train images per pool).
    "fast": {
        "epochs": 8,
        "batch_size": 32,
        "eval_batch_size": 128,
        "teacher": {"epochs": 15, "batch_size": 32},
        "sembridge": {"matcher": {"arch": "resnet18", "epochs": 5, "batch_size": 32}},
    },
}

FREE_FORM = ("method_args", "sembridge")

CHOICES: dict[str, tuple[str, ...]] = {
    "device": ("auto", "cpu", "cuda"),
    "optimizer": ("adam", "sgd"),
    "teacher_mode": ("cached", "live"),
    "ms_norm": ("mean_std", "per_image_max"),
    "pairing": ("random", "random-fixed", "oracle", "ssm", "ssm-free"),
}


def _merge(base: dict, override: dict, where: str, schema: dict) -> dict:
    """Recursively merge `override` into a copy of `base`; unknown keys are a ConfigError."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in schema:
            raise ConfigError(f"unknown config key {key!r} (known: {', '.join(sorted(schema))})", where)
        if key in FREE_FORM:  # checked by their owners (the method, the matcher)
            if not isinstance(value, dict):
                raise ConfigError(f"config key {key!r} must be a mapping", where)
            out[key] = deep_update(out.get(key) or {}, value)
        elif isinstance(schema[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {key!r} must be a mapping", where)
            out[key] = _merge(out[key], value, where, schema[key])
        else:
            out[key] = copy.deepcopy(value)
    return out


def deep_update(base: dict, override: dict) -> dict:
    """A copy of `base` with `override` merged in, nested mappings key by key."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_yaml(path: str | Path) -> dict:
    """Read a `--config` YAML file (a mapping of config keys)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("config file not found", path) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({' '.join(str(exc).split())})", path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config file must hold a mapping of config keys", path)
    return data


def resolve_config(
    profile: str | None = None,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """DEFAULTS -> profile -> YAML file -> overrides (None values in overrides are ignored)."""
    file_cfg = load_yaml(config_file) if config_file else {}
    name = profile or file_cfg.get("profile") or DEFAULTS["profile"]
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r} (known: {', '.join(sorted(PROFILES))})")
    cfg = _merge(DEFAULTS, PROFILES[name], f"profile {name}", DEFAULTS)
    cfg = _merge(cfg, file_cfg, str(config_file), DEFAULTS)
    cfg = _merge(cfg, _drop_none(overrides or {}), "command line", DEFAULTS)
    cfg["profile"] = name
    validate(cfg)
    return cfg


def _drop_none(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = _drop_none(v)
            if not v:
                continue
        if v is not None:
            out[k] = v
    return out


def validate(cfg: dict) -> None:
    """Check choices and ranges; ConfigError names the key."""
    for key, options in CHOICES.items():
        if cfg[key] is not None and cfg[key] not in options:
            raise ConfigError(f"config {key}={cfg[key]!r}: expected one of {', '.join(options)}")
    if cfg["teacher"]["optimizer"] not in CHOICES["optimizer"]:
        raise ConfigError(f"config teacher.optimizer={cfg['teacher']['optimizer']!r}: expected adam or sgd")
    for key in ("epochs", "batch_size", "eval_batch_size"):
        if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 1:
            raise ConfigError(f"config {key}={cfg[key]!r}: expected a positive integer")
    for key in ("epochs", "batch_size"):
        if not isinstance(cfg["teacher"][key], int) or cfg["teacher"][key] < 1:
            raise ConfigError(f"config teacher.{key}={cfg['teacher'][key]!r}: expected a positive integer")
    if not isinstance(cfg["cost_every"], int) or cfg["cost_every"] < 0:
        raise ConfigError(f"config cost_every={cfg['cost_every']!r}: expected an integer >= 0")
    ts = cfg["teacher"]["seed"]
    if ts != "follow" and (isinstance(ts, bool) or not isinstance(ts, int) or ts < 0):
        raise ConfigError(f"config teacher.seed={ts!r}: expected an integer >= 0 or 'follow' (the run's seed)")
    if cfg["bands"] is not None and (not isinstance(cfg["bands"], list) or not cfg["bands"]):
        raise ConfigError(f"config bands={cfg['bands']!r}: expected a list of band names")


def config_hash(obj: Any) -> str:
    """sha256 of the canonical JSON of `obj` (first 16 hex digits), for cache keys."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return sha256_bytes(text.encode("utf-8"))[:16]


def teacher_seed(cfg: dict) -> int:
    """The teacher's seed: teacher.seed, or the run's seed when teacher.seed is "follow" (then seed spreads
    include teacher variance)."""
    seed = cfg["teacher"]["seed"]
    return int(cfg["seed"]) if seed == "follow" else int(seed)


def teacher_config(cfg: dict) -> dict:
    """The part of the config that determines a teacher checkpoint (besides benchmark, arch, bands); the seed
    resolved, so "follow" and the equal fixed seed share one teacher."""
    return {"teacher": {**cfg["teacher"], "seed": teacher_seed(cfg)}, "ms_norm": cfg["ms_norm"],
            "deterministic": cfg["deterministic"]}


def dump_yaml(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=True, default_flow_style=False)


def parse_epoch_list(text: str | None) -> list[int] | None:
    """`--dynm-epochs 3,7` -> [3, 7]."""
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"--dynm-epochs {text!r}: expected comma-separated integers like 3,7") from None
