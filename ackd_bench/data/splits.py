"""Pool and train/val/test splits: seeded, stratified by class, sorted inputs -> reproducible output.

Pool split (when teacher and student come from the same tiles):
- `region`: per class, tiles sorted by footprint-centroid longitude (then sample_id); the western
  ceil(n/2) go to the teacher pool, the eastern floor(n/2) to the student pool. Cutting each class at
  its own median longitude keeps every class balanced while the two pools stay geographically apart.
- `random`: per class, a seeded permutation; first ceil(n/2) teacher, rest student.
- `paired`: every tile in both pools (SCKD reference; the tile's split follows its student image's split).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from ackd_bench.errors import ConfigError

DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)
POOL_RULES = {
    "region": "per class: tiles sorted by footprint-centroid longitude (then sample_id); western ceil(n/2) -> teacher, eastern floor(n/2) -> student",
    "random": "per class: seeded permutation of the sorted tiles; first ceil(n/2) -> teacher, rest -> student",
    "paired": "every tile (an SCKD sibling: the tiles of its ACKD build's student images) in both pools; each tile takes the split of the student image rendered from it",
    "sources": "every sample stays in the pool its source gave it (separate sources, or --split-by sources)",
}


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([int(seed)] + [zlib.crc32(k.encode("utf-8")) for k in keys])


def split_counts(n: int, fractions: Sequence[float]) -> tuple[int, int, int]:
    """(train, val, test) sizes for `n` items: val/test rounded, at least 1 each when n >= 3."""
    _, fv, ft = fractions
    n_val = int(round(n * fv))
    n_test = int(round(n * ft))
    if n >= 3:
        n_val, n_test = max(n_val, 1), max(n_test, 1)
    n_train = max(n - n_val - n_test, 0)
    return n_train, min(n_val, n - n_train), n - n_train - min(n_val, n - n_train)


def assign_splits(
    ids_by_class: dict[str, list[str]], seed: int, pool: str, fractions=DEFAULT_FRACTIONS
) -> dict[str, str]:
    """sample_id -> "train"|"val"|"test", stratified by class, seeded per (pool, class)."""
    out: dict[str, str] = {}
    for cls in sorted(ids_by_class):
        ids = sorted(ids_by_class[cls])
        order = _rng(seed, "split", pool, cls).permutation(len(ids))
        n_train, n_val, _ = split_counts(len(ids), fractions)
        for rank, i in enumerate(order):
            out[ids[i]] = "train" if rank < n_train else ("val" if rank < n_train + n_val else "test")
    return out


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    f = tuple(float(x) for x in fractions)
    if len(f) != 3 or any(x < 0 for x in f) or abs(sum(f) - 1.0) > 1e-6:
        raise ConfigError(f"split fractions must be three non-negative numbers summing to 1, got {list(fractions)}")
    return f  # type: ignore[return-value]


def pool_split(tiles: list[Any], rule: str, seed: int, class_of) -> tuple[set[str], set[str]]:
    """Split shared tiles (RawSamples) into (teacher ids, student ids) by `rule` (region|random|paired)."""
    by_class: dict[str, list[Any]] = defaultdict(list)
    for t in tiles:
        by_class[class_of(t)].append(t)
    teacher: set[str] = set()
    student: set[str] = set()
    for cls in sorted(by_class):
        items = sorted(by_class[cls], key=lambda t: t.sample_id)
        if rule == "paired":
            ids = {t.sample_id for t in items}
            teacher |= ids
            student |= ids
            continue
        if rule == "region":
            if any(t.footprint is None for t in items):
                raise ConfigError(
                    f"--split-by region needs footprints, class {cls!r} has tiles without one (use --split-by random)"
                )
            items = sorted(items, key=lambda t: (round(t.footprint.centroid.x, 9), t.sample_id))
        elif rule == "random":
            items = [items[i] for i in _rng(seed, "pool", cls).permutation(len(items))]
        else:
            raise ConfigError(f"unknown --split-by {rule!r} (known: region, random, paired)")
        k = (len(items) + 1) // 2
        teacher |= {t.sample_id for t in items[:k]}
        student |= {t.sample_id for t in items[k:]}
    return teacher, student


TRAIN_FRACTION_RULE = (
    "per class, a seeded permutation of the class's student train samples (sorted by sample_id); fraction f "
    "takes its first max(1, floor(f * n + 0.5)) samples (at most n). Subsets are nested (the smaller fraction's "
    "samples are the first ones of every larger one) and hold at least one sample per class. Manifest column "
    "train_fraction = the smallest built fraction a sample belongs to (empty for val/test, and for train "
    "samples outside the largest fraction when 1 is not built); fraction F = rows with train_fraction <= F"
)


def check_train_fractions(fractions) -> tuple[float, ...]:
    """Sorted unique fractions in (0, 1]; ConfigError otherwise."""
    try:
        f = sorted({float(x) for x in fractions})
    except (TypeError, ValueError):
        raise ConfigError(f"--train-fractions expects numbers in (0, 1] like 0.01,0.1,1, got {fractions!r}") from None
    if not f or any(not 0.0 < x <= 1.0 for x in f):
        raise ConfigError(f"--train-fractions must be numbers in (0, 1], got {list(fractions)}")
    return tuple(f)


def train_fraction_of(
    train_ids_by_class: dict[str, list[str]], fractions: Sequence[float], seed: int
) -> dict[str, float]:
    """sample_id -> the smallest fraction whose subset holds it (TRAIN_FRACTION_RULE); absent = in none."""
    fractions = check_train_fractions(fractions)
    out: dict[str, float] = {}
    for cls in sorted(train_ids_by_class):
        ids = sorted(train_ids_by_class[cls])
        n = len(ids)
        order = _rng(seed, "train_fraction", cls).permutation(n)
        sizes = [min(n, max(1, int(np.floor(f * n + 0.5)))) for f in fractions]
        for rank, i in enumerate(order):
            for f, k in zip(fractions, sizes):
                if rank < k:
                    out[ids[i]] = f
                    break
    return out
