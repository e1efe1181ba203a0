"""The `slurm:` section of a grid file: validation and translation to submitit parameters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ackd_bench.errors import ConfigError

CLUSTERS = ("slurm", "local", "debug")
# key -> allowed types
SLURM_KEYS: dict[str, tuple[type, ...]] = {
    "cluster": (str,),  # slurm (default), local or debug (submitit's single-machine executors, for tests)
    "partition": (str,),
    "time": (int, str),  # minutes, or "HH:MM:SS" / "D-HH:MM:SS" / "MM:SS"
    "gpus_per_node": (int,),
    "cpus_per_task": (int,),
    "mem": (int, str),  # GB, or "32G" / "500M"
    "array_parallelism": (int,),
    "account": (str,),
    "qos": (str,),
    "constraint": (str,),
    "setup": (list,),  # shell lines run before each job, e.g. ["module load cuda"]
    "folder": (str,),  # submitit's job folder; default <out>/.submitit
}


def parse_minutes(value: int | str) -> int:
    """SLURM time formats -> whole minutes (rounded up). Raises ValueError on a bad format."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(value)
        return value
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", value.strip())
    if not m:
        raise ValueError(value)
    days, a, b, c = (int(g) if g is not None else None for g in m.groups())
    if c is not None:  # [D-]HH:MM:SS
        seconds = a * 3600 + b * 60 + c
    elif b is not None:  # D-HH:MM or MM:SS
        seconds = a * 3600 + b * 60 if days is not None else a * 60 + b
    else:  # D-HH or MM
        seconds = a * 3600 if days is not None else a * 60
    seconds += (days or 0) * 86400
    if seconds <= 0:
        raise ValueError(value)
    return -(-seconds // 60)


def parse_mem_gb(value: int | str) -> float:
    """32 / "32G" / "32GB" / "500M" -> GB. Raises ValueError on a bad format."""
    if isinstance(value, int):
        gb = float(value)
    else:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([MGT]?)B?", value.strip().upper())
        if not m:
            raise ValueError(value)
        gb = float(m.group(1)) * {"M": 1 / 1024, "G": 1.0, "": 1.0, "T": 1024.0}[m.group(2)]
    if gb <= 0:
        raise ValueError(value)
    return gb


def check_slurm(path: Path, raw: Any) -> dict[str, Any]:
    """Validate the section (None -> {}); every problem is a ConfigError naming the grid file."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"'slurm' must be a mapping, got {type(raw).__name__}", path)
    for key, val in raw.items():
        if key not in SLURM_KEYS:
            raise ConfigError(f"unknown key slurm.{key} (known: {', '.join(SLURM_KEYS)})", path)
        types = SLURM_KEYS[key]
        if not isinstance(val, types) or isinstance(val, bool):
            names = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"slurm.{key} must be {names}, got {val!r}", path)
        if isinstance(val, int) and val < (1 if key in ("time", "mem", "array_parallelism") else 0):
            raise ConfigError(f"slurm.{key} must be positive, got {val!r}", path)
    if raw.get("cluster", "slurm") not in CLUSTERS:
        raise ConfigError(f"slurm.cluster must be one of {', '.join(CLUSTERS)}, got {raw['cluster']!r}", path)
    for key, parse in (("time", parse_minutes), ("mem", parse_mem_gb)):
        if key in raw:
            try:
                parse(raw[key])
            except ValueError:
                raise ConfigError(f"slurm.{key} has a bad value {raw[key]!r}", path) from None
    if not all(isinstance(line, str) for line in raw.get("setup", [])):
        raise ConfigError("slurm.setup must be a list of shell lines", path)
    return dict(raw)


def submitit_parameters(slurm: dict[str, Any]) -> dict[str, Any]:
    """The section -> AutoExecutor.update_parameters(**kwargs). slurm_* keys are ignored by local/debug."""
    params: dict[str, Any] = {"name": "ackd-sweep"}
    if "time" in slurm:
        params["timeout_min"] = parse_minutes(slurm["time"])
    if "mem" in slurm:
        params["mem_gb"] = parse_mem_gb(slurm["mem"])
    for key in ("gpus_per_node", "cpus_per_task"):
        if key in slurm:
            params[key] = slurm[key]
    for key in ("partition", "array_parallelism", "account", "qos", "constraint", "setup"):
        if key in slurm:
            params[f"slurm_{key}"] = slurm[key]
    return params
