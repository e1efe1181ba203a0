"""Run configuration: defaults, the `paper`, `fast` and `official` profiles, YAML overrides, CLI overrides, hashes.

Resolution order (later wins): DEFAULTS -> PROFILES[profile] -> `--config FILE` (YAML mapping) -> CLI flags.
The fully resolved dict is saved as RUN_DIR/config.yaml and copied into result.json["config"].

Budgets: a profile counts training in optimiser `steps` (student and teacher separately); the engine turns
them into epochs once it knows the train pool's size (`derive_epochs`), so `fast` means the same on 60
images and on 27,000. An integer `epochs` overrides the budget.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from ackd_bench.errors import ConfigError
from ackd_bench.io import sha256_bytes

# The official SKA weight (official train.py: lam_ot 0.3 * ot_weights 0.01), tuned for the official CORAL formula.
OFFICIAL_OT_WEIGHT = 0.003

# Every key a config may hold. Nested dicts (method_args, sembridge, teacher) merge key by key.
DEFAULTS: dict[str, Any] = {
    "benchmark": None,  # benchmark folder (as typed)
    "method": None,  # e.g. kd, dkd+sembridge
    "pair": None,  # R-R, ... or teacher:student
    "student_arch": None,  # from the pair
    "device": "auto",  # auto | cpu | cuda
    "profile": "paper",
    "seed": 0,
    # budget: epochs = max(min_epochs, ceil(steps / optimiser steps per epoch)); an integer `epochs` overrides
    "epochs": None,
    "steps": 6400,  # 200 epochs of a full EuroSAT ACKD train pool (8,100 images) at batch 256
    "min_epochs": 10,
    "batch_size": 256,
    "eval_batch_size": 512,
    # the training recipe (also the teacher's, below): AdamW, cosine schedule, the 8 dihedral symmetries
    "optimizer": "adamw",  # adam | adamw | sgd
    "lr": 1e-3,
    "weight_decay": 0.05,
    "momentum": 0.9,  # sgd only
    "cosine": True,  # cosine annealing over `epochs` (per epoch)
    "augment": "dihedral",  # none | dihedral (random flips/90-degree rotations of the student images)
    "w_ce": 0.3,  # official train.py lam_task
    "w_kd": 0.4,  # official train.py lam_kd
    "method_args": {},
    # DKD/CTKD warm-ups: scaled to the run length like DynM (x min(1, epochs/200)) | absolute | official
    "warmups": "scaled",
    "pairing": None,  # random | random-fixed | oracle | ssm | ssm-free; None -> ssm for +sembridge, else random
    # SemBridge options (checked by methods/sembridge: SEMBRIDGE_DEFAULTS, its "matcher" mapping holds the
    # SSM matcher's options); the engine fills in their defaults when it resolves a run.
    "sembridge": {},
    "teacher": {
        "arch": None,  # from the pair
        "seed": 0,  # an integer: fixed across student seeds (one shared teacher); "follow": the run's seed
        "epochs": None,  # None -> from steps / min_epochs, as for the student
        "steps": 6400,
        "min_epochs": 10,
        "lr": 1e-3,
        "batch_size": 256,
        "optimizer": "adamw",
        "weight_decay": 0.05,
        "momentum": 0.9,
        "cosine": True,
        "augment": "dihedral",  # applied while training the teacher; cached outputs are un-augmented
    },
    "teacher_mode": "cached",  # cached | live
    "bands": None,  # list of band names; None -> the benchmark card's teacher_bands
    "train_fraction": None,  # student train subset built with --train-fractions; None = the whole train split
    "ms_norm": "mean_std",  # mean_std | per_image_max
    "deterministic": True,
    "cost_every": 0,  # every K epochs log transport costs (0 = never)
    # 0 = last.pt after every epoch (the runner contract); N > 0 = at the first epoch end N seconds after the
    # previous write, and after the last epoch (big models on fast GPUs). Resume is exact either way.
    "checkpoint_every_s": 0,
}

# The official ACKD code's protocol (github.com/weirl-922/ACKD @ 21a20f8; sembridge-spec.md §2.3, §3, §5) wherever
# it is not one of its bugs (spec §7.6; those stay fixed). Every key is set explicitly, so the profile stays official
# whatever the defaults become; ackd_bench/fidelity.py checks the resolved run against the same values and
# docs/fidelity.md explains each row.
# train.py and train_teacher.py share one recipe: Adam, no schedule, no augmentation anywhere in the official code
_OFFICIAL_RECIPE: dict[str, Any] = {
    "epochs": 200,
    "batch_size": 256,
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 0.0,
    "cosine": False,
    "augment": "none",
}
OFFICIAL_PROFILE: dict[str, Any] = {
    **_OFFICIAL_RECIPE,
    "w_ce": 0.3,
    "w_kd": 0.4,
    "warmups": "official",  # DKD: min(epoch / 20, 1) with the 0-based epoch, as ACKD's train.py
    "teacher": dict(_OFFICIAL_RECIPE),
    "bands": ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B10", "B11", "B12"],  # data/bands.py paper10
    "ms_norm": "per_image_max",
    "sembridge": {
        "coral_scale": "official",
        "w_ot": {"official": OFFICIAL_OT_WEIGHT},
        "loss_form": "code",
        "dynm_schedule": "S2S_EU",  # adjust_epoch of the EuroSAT config; S2S_CN, M2S_GL for the others
        "dynm_tau": 3.0,
        "planner_dim": 512,
        "planner_heads": 8,
        "matcher": {
            "arch": "resnet34",
            "epochs": 100,
            "batch_size": 64,
            "lr": 1e-3,
            "weight_decay": 1e-3,
            "proj_dim": 256,
            "dropout": 0.1,
            "loss": "clip_soft",
            "clip_temperature": 1.0,
        },
    },
}

PROFILES: dict[str, dict[str, Any]] = {
    # The paper's scale (batch 256, 6,400 steps = 200 epochs of EuroSAT's ACKD train pool) with the recipe above.
    "paper": {},
    # A CPU demo at batch 32: 300 student / 400 teacher steps (on the default benchmark's 60 train images per
    # pool, 2 steps an epoch: 150 / 200 epochs; on 8,100 images the 2-epoch floor, 508 steps).
    "fast": {
        "steps": 300,
        "min_epochs": 2,
        "batch_size": 32,
        "eval_batch_size": 128,
        "teacher": {"steps": 400, "min_epochs": 2, "batch_size": 32},
        "sembridge": {"matcher": {"arch": "resnet18", "epochs": 5, "batch_size": 32}},
    },
    "official": OFFICIAL_PROFILE,
}

FREE_FORM = ("method_args", "sembridge")

# What a benchmark card records as the loss weights its numbers assume (the official protocol's).
LOSS_WEIGHTS_DEFAULT: dict[str, Any] = {
    "w_ce": DEFAULTS["w_ce"],
    "w_kd": DEFAULTS["w_kd"],
    "w_ot": OFFICIAL_OT_WEIGHT,
    "form": "official",
}

# Partner protocols (docs/ARCHITECTURE.md section 5): the one list the CLI, grids and the result schema use.
PAIRINGS: tuple[str, ...] = ("random", "random-fixed", "oracle", "ssm", "ssm-free")

CHOICES: dict[str, tuple[str, ...]] = {
    "device": ("auto", "cpu", "cuda"),
    "optimizer": ("adam", "adamw", "sgd"),
    "augment": ("none", "dihedral"),
    "teacher_mode": ("cached", "live"),
    "ms_norm": ("mean_std", "per_image_max"),
    "pairing": PAIRINGS,
    "warmups": ("scaled", "absolute", "official"),
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
    for key in ("optimizer", "augment"):
        if cfg["teacher"][key] not in CHOICES[key]:
            raise ConfigError(
                f"config teacher.{key}={cfg['teacher'][key]!r}: expected one of {', '.join(CHOICES[key])}"
            )
    for key in ("batch_size", "eval_batch_size"):
        if not _positive_int(cfg[key]):
            raise ConfigError(f"config {key}={cfg[key]!r}: expected a positive integer")
    if not _positive_int(cfg["teacher"]["batch_size"]):
        raise ConfigError(f"config teacher.batch_size={cfg['teacher']['batch_size']!r}: expected a positive integer")
    for where, section in (("", cfg), ("teacher.", cfg["teacher"])):
        if section["epochs"] is not None and not _positive_int(section["epochs"]):
            raise ConfigError(
                f"config {where}epochs={section['epochs']!r}: expected a positive integer (or null: from {where}steps)"
            )
        if section["epochs"] is None and not _positive_int(section["steps"]):
            raise ConfigError(
                f"config {where}steps={section['steps']!r}: expected a positive integer (or set {where}epochs)"
            )
        if (
            not isinstance(section["min_epochs"], int)
            or isinstance(section["min_epochs"], bool)
            or section["min_epochs"] < 0
        ):
            raise ConfigError(f"config {where}min_epochs={section['min_epochs']!r}: expected an integer >= 0")
    if not isinstance(cfg["cost_every"], int) or cfg["cost_every"] < 0:
        raise ConfigError(f"config cost_every={cfg['cost_every']!r}: expected an integer >= 0")
    ts = cfg["teacher"]["seed"]
    if ts != "follow" and (isinstance(ts, bool) or not isinstance(ts, int) or ts < 0):
        raise ConfigError(f"config teacher.seed={ts!r}: expected an integer >= 0 or 'follow' (the run's seed)")
    f = cfg["train_fraction"]
    if f is not None and (isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f <= 1.0):
        raise ConfigError(f"config train_fraction={f!r}: expected a number in (0, 1]")
    if cfg["bands"] is not None and (not isinstance(cfg["bands"], list) or not cfg["bands"]):
        raise ConfigError(f"config bands={cfg['bands']!r}: expected a list of band names")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimiser steps in one epoch of `n_train` images (engine.loops.batch_indices drops a trailing batch of 1)."""
    batches = -(-n_train // batch_size)
    if batches > 1 and n_train % batch_size == 1:
        batches -= 1
    return max(batches, 1)


def derive_epochs(section: dict, n_train: int) -> int:
    """The epochs a config section (the run config or its `teacher` mapping) trains for on `n_train` images:
    `epochs` when set, else max(min_epochs, ceil(steps / steps per epoch))."""
    if section.get("epochs") is not None:
        return int(section["epochs"])
    per_epoch = steps_per_epoch(n_train, int(section["batch_size"]))
    return max(int(section["min_epochs"]), -(-int(section["steps"]) // per_epoch), 1)


def budget_record(section: dict, n_train: int) -> dict:
    """How the epochs of `section` were chosen, for run records and teacher info."""
    per_epoch = steps_per_epoch(n_train, int(section["batch_size"]))
    epochs = derive_epochs(section, n_train)
    return {
        "rule": "epochs" if section.get("epochs") is not None else "steps",
        "steps_budget": section.get("steps"),
        "min_epochs": section.get("min_epochs"),
        "train_images": int(n_train),
        "steps_per_epoch": per_epoch,
        "epochs": epochs,
        "steps": epochs * per_epoch,
    }


def recipe(section: dict) -> dict:
    """The training recipe of a config section (student config or `teacher`), as recorded in run records."""
    keys = ("optimizer", "lr", "weight_decay", "momentum", "cosine", "augment", "batch_size")
    return {k: section[k] for k in keys}


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
    return {
        "teacher": {**cfg["teacher"], "seed": teacher_seed(cfg)},
        "ms_norm": cfg["ms_norm"],
        "deterministic": cfg["deterministic"],
    }


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
