"""Frozen teacher outputs (logits, embeddings, tokens) for un-augmented MS inputs, cached once per teacher.

cache_root()/teacher_outputs/<key>/<split>_{logits,embedding,tokens}.npy + <split>.json, key = hash of
(teacher checkpoint sha256, benchmark manifests' sha256, bands, ms_norm, numerics of the device computing them:
device type, autocast, deterministic mode, torch version). <split>.json (written last)
records the sample ids and the sha256 of each .npy; a mismatch on load means the cache is recomputed.
A live teacher (cfg teacher_mode "live") runs the same forward per batch instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock

from ackd_bench.config import config_hash
from ackd_bench.engine.cache import cache_root
from ackd_bench.engine.loops import forward_all
from ackd_bench.errors import DataError
from ackd_bench.io import atomic_path, atomic_write_json, read_json, sha256_file
from ackd_bench.methods import TeacherOutput
from ackd_bench.methods.context import PoolTensors
from ackd_bench.runtime.device import numerics

FIELDS = ("logits", "embedding", "tokens")


@dataclass
class CachedOutputs:
    outputs: object  # ackd_bench.methods.TeacherOutput, row-aligned with the pool
    reused: bool  # True when read from a verified cache entry


def outputs_key(teacher_sha256: str, bench, bands: list[str], ms_norm: str, device: torch.device) -> str:
    """Cache key of a teacher's outputs: the checkpoint, the benchmark's manifests, bands, MS normalisation and
    the device's numerics (outputs computed under other numerics are not reused)."""
    return config_hash(
        {
            "teacher": teacher_sha256,
            "manifests_sha256": bench.manifests_sha256,
            "bands": list(bands),
            "ms_norm": ms_norm,
            "numerics": numerics(device),
        }
    )


def compute_outputs(
    model: torch.nn.Module, pool: PoolTensors, batch_size: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """The teacher's logits, embeddings and tokens for every image of `pool` (float32, CPU, inference mode)."""
    return forward_all(model, pool.x, batch_size, device, FIELDS)


def _load(entry: Path, split: str, sample_ids: list[str]) -> dict[str, torch.Tensor] | None:
    """The cached arrays when <split>.json is readable, lists `sample_ids` and every .npy matches its sha256."""
    meta_path = entry / f"{split}.json"
    if not meta_path.is_file():
        return None
    try:
        meta = read_json(meta_path)
    except DataError:
        return None
    if not isinstance(meta, dict) or meta.get("sample_ids") != sample_ids or not isinstance(meta.get("sha256"), dict):
        return None
    out = {}
    for f in FIELDS:
        path = entry / f"{split}_{f}.npy"
        if not path.is_file() or sha256_file(path) != meta["sha256"].get(f):
            return None
        try:
            out[f] = torch.from_numpy(np.load(path, allow_pickle=False))
        except (OSError, ValueError):
            return None
    return out


def _store(entry: Path, split: str, sample_ids: list[str], arrays: dict[str, torch.Tensor]) -> None:
    digests = {}
    for f in FIELDS:
        path = entry / f"{split}_{f}.npy"
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, arrays[f].numpy().astype(np.float32))
        digests[f] = sha256_file(path)
    atomic_write_json(entry / f"{split}.json", {"sample_ids": sample_ids, "sha256": digests})


def teacher_outputs(
    model: torch.nn.Module,
    teacher_sha256: str,
    bench,
    bands: list[str],
    ms_norm: str,
    split: str,
    pool: PoolTensors,
    batch_size: int,
    device: torch.device,
    quiet: bool = False,
) -> CachedOutputs:
    """Cached outputs for `pool` (teacher `split`), computed and stored when missing or corrupt."""
    entry = cache_root() / "teacher_outputs" / outputs_key(teacher_sha256, bench, bands, ms_norm, device)
    arrays = _load(entry, split, pool.sample_ids)
    reused = arrays is not None
    if not reused:
        entry.mkdir(parents=True, exist_ok=True)
        with FileLock(str(entry / f".{split}.lock")):  # one process computes, concurrent runs then reuse it
            arrays = _load(entry, split, pool.sample_ids)
            reused = arrays is not None
            if not reused:
                if (entry / f"{split}.json").is_file() and not quiet:
                    print(
                        f"teacher output cache {entry / split}: checksum mismatch or unreadable, recomputing",
                        file=sys.stderr,
                    )
                arrays = compute_outputs(model, pool, batch_size, device)
                _store(entry, split, pool.sample_ids, arrays)
    out = TeacherOutput(
        logits=arrays["logits"].to(device), embedding=arrays["embedding"].to(device), tokens=arrays["tokens"].to(device)
    )
    return CachedOutputs(out, reused)


def gather(outputs, idx: torch.Tensor):
    """The rows `idx` of a TeacherOutput."""
    return type(outputs)(logits=outputs.logits[idx], embedding=outputs.embedding[idx], tokens=outputs.tokens[idx])


class CachedTeacher:
    """Partner outputs by teacher-train row from the cache (default)."""

    def __init__(self, outputs):
        self.outputs = outputs

    def __call__(self, idx: torch.Tensor):
        return gather(self.outputs, idx)


class LiveTeacher:
    """Partner outputs by a live frozen-teacher forward (for augmented teachers; same values otherwise)."""

    def __init__(self, model: torch.nn.Module, pool: PoolTensors, device: torch.device):
        self.model, self.pool, self.device = model, pool, device

    def __call__(self, idx: torch.Tensor):
        out = forward_all(self.model, self.pool.x[idx], len(idx), self.device, FIELDS)
        return TeacherOutput(**{f: out[f].to(self.device) for f in FIELDS})
