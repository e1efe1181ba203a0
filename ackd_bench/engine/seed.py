"""Seeds, deterministic mode and RNG state capture for exact resume."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import warnings
from typing import Iterator

import numpy as np
import torch

from ackd_bench.runtime.device import autocast_dtype


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts, e.g. derive_seed(seed, "pairing", epoch)."""
    text = "/".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & ((1 << 63) - 1)


def generator(*parts: object) -> torch.Generator:
    """A CPU torch.Generator seeded from `parts` (independent of the global RNG)."""
    g = torch.Generator()
    g.manual_seed(derive_seed(*parts))
    return g


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's (seed mod 2^32) and torch's global RNGs (torch seeds every CUDA device too)."""
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


def set_deterministic(enabled: bool, device: torch.device) -> None:
    """Deterministic kernels: strict on CPU; on CUDA warn-only (some kernels have no deterministic version)."""
    if enabled and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=device.type == "cuda")
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled


NONDETERMINISTIC_OP = "does not have a deterministic implementation"


def determinism_plan(device_type: str, deterministic: bool) -> dict:
    """What a run on `device_type` promises, before it runs: {"deterministic", "autocast", "bit_reproducible",
    "why_not"} (record_nondeterminism adds what torch reported while it ran).

    CPU or CUDA with deterministic mode: float32, deterministic kernels, cuDNN autotuning off: the same seed on
    the same machine and software gives the same bits, unless an op has no deterministic CUDA kernel (torch then
    only warns; those ops are recorded). Without deterministic mode nothing is promised.
    """
    dtype = autocast_dtype(device_type, deterministic)
    why: list[str] = []
    if not deterministic:
        why.append("deterministic mode is off: non-deterministic kernels and cuDNN autotuning are allowed")
        if dtype is not None:
            why.append(f"{str(dtype).removeprefix('torch.')} autocast on {device_type}")
    return {
        "deterministic": bool(deterministic),
        "device": device_type,
        "autocast": str(dtype).removeprefix("torch.") if dtype else None,
        "bit_reproducible": not why,
        "why_not": why,
    }


@contextlib.contextmanager
def record_nondeterminism(plan: dict) -> Iterator[dict]:
    """Run the block; every op torch reports as having no deterministic implementation (deterministic mode on
    CUDA only warns) is added to plan["why_not"] and makes plan["bit_reproducible"] False. Other warnings pass."""
    seen: list[str] = []
    with warnings.catch_warnings():
        warnings.filterwarnings("always", message=f".*{NONDETERMINISTIC_OP}.*")
        shown = warnings.showwarning

        def hook(message, category, filename, lineno, file=None, line=None):
            text = str(message)
            if NONDETERMINISTIC_OP in text:
                first = text.strip().splitlines()[0]
                if first not in seen:
                    seen.append(first)
                return
            shown(message, category, filename, lineno, file, line)

        warnings.showwarning = hook
        try:
            yield plan
        finally:
            for text in seen:
                plan["why_not"].append(f"no deterministic kernel (torch warned): {text}")
            if seen:
                plan["bit_reproducible"] = False


def rng_state() -> dict:
    """Every global RNG state, in a form torch.load(weights_only=True) accepts."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {
            "name": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the RNG states `rng_state()` captured (CUDA's only where CUDA is available)."""
    random.setstate(_tuplify(state["python"]))
    n = state["numpy"]
    np.random.set_state(
        (n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(obj):
    if isinstance(obj, (list, tuple)):
        return tuple(_tuplify(o) for o in obj)
    return obj
