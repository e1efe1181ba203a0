"""Read a built benchmark folder for training: card, manifests, stats, arrays and normalisers.

Only numpy/pandas/pyarrow/torch are needed here: rasterio and PIL are imported lazily, and only when a
benchmark without packed arrays has to decode its files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ackd_bench.data import packing
from ackd_bench.data.bands import band_indices, resolve_band_set
from ackd_bench.data.manifest import read_manifest
from ackd_bench.errors import ConfigError, DataError
from ackd_bench.io import read_json, sha256_file

POOLS = ("teacher", "student")
SPLITS = ("train", "val", "test")


@dataclass
class PoolArrays:
    x: np.ndarray  # (N, C, H, W) raw dtype (uint16 MS / uint8 RGB)
    labels: np.ndarray  # (N,) int64
    sample_ids: list[str]
    bands: list[str]


class Benchmark:
    """A benchmark folder: `Benchmark.open(dir)` checks the manifests' sha256 against the card."""

    def __init__(self, root: Path, card: dict):
        self.root = Path(root)
        self.card = card
        self._manifests: dict[str, pd.DataFrame] = {}
        self._stats: dict | None = None

    @classmethod
    def open(cls, root: str | Path) -> "Benchmark":
        root = Path(root)
        card = read_json(root / "benchmark.json")
        for key in ("name", "classes", "manifests_sha256", "roots", "available_bands", "teacher_bands"):
            if key not in card:
                raise DataError(f"card lacks key {key!r}", root / "benchmark.json")
        for name, digest in sorted(card["manifests_sha256"].items()):
            path = root / name
            if not path.is_file():
                raise DataError("manifest listed in the card is missing", path)
            if sha256_file(path) != digest:
                raise DataError("manifest sha256 differs from benchmark.json (modified file?)", path)
        # stats.json (normalisation) and packed/index.json (which then vouches for each packed .npy)
        for name, digest in sorted((card.get("files_sha256") or {}).items()):
            path = root / name
            if path.is_file() and sha256_file(path) != digest:
                raise DataError(
                    "sha256 differs from benchmark.json (corrupt or modified file; "
                    "`ackd-bench verify` lists every such file)",
                    path,
                )
        return cls(root, card)

    # ------------------------------------------------------------ card fields
    name = property(lambda self: self.card["name"])
    version = property(lambda self: self.card["version"])
    classes = property(lambda self: list(self.card["classes"]))
    num_classes = property(lambda self: len(self.card["classes"]))
    teacher_bands = property(lambda self: list(self.card["teacher_bands"]))
    available_bands = property(lambda self: list(self.card["available_bands"]))

    def run_bands(self, spec: str | list[str] | tuple[str, ...] | None = None) -> tuple[str, ...]:
        """The teacher band names of a run: `spec` (band-set name, comma list or names), else the card's
        teacher_bands. The only place that fallback lives."""
        return tuple(resolve_band_set(spec)) if spec else tuple(self.teacher_bands)

    size = property(lambda self: int(self.card["size"]))
    manifests_sha256 = property(lambda self: dict(self.card["manifests_sha256"]))
    paired = property(lambda self: bool(self.card.get("paired")))
    # a multi-label teacher (card key `multilabel`, manifest column `labels`); the student is single-label
    multilabel = property(lambda self: bool(self.card.get("multilabel")))

    def targets(self, pool: str, split: str) -> np.ndarray:
        """(N, K) float32 multi-hot targets in `load_arrays(pool, split)` order: every label of a
        multi-label pool (manifest column `labels`), else the one-hot of `label`."""
        df = self.manifest(pool)
        df = df[df["split"] == split]
        out = np.zeros((len(df), self.num_classes), dtype=np.float32)
        sets = df["labels"] if "labels" in df.columns else ([int(v)] for v in df["label"])
        for row, (primary, labels) in enumerate(zip(df["label"], sets)):
            idx = np.asarray(labels, dtype=np.int64)
            if idx.size == 0 or idx.min() < 0 or idx.max() >= self.num_classes or int(primary) not in idx:
                raise DataError(
                    f"row {df['sample_id'].iloc[row]!r}: labels {list(idx)} must be class indices "
                    f"< {self.num_classes} that include label {int(primary)}",
                    self.root / f"{pool}.parquet",
                )
            out[row, idx] = 1.0
        return out

    @property
    def train_fractions(self) -> list[float]:
        """Student train fractions built with `--train-fractions` ([] when none)."""
        return [float(f) for f in (self.card.get("train_fractions") or {}).get("fractions", [])]

    def check_train_fraction(self, fraction: float | None) -> float | None:
        """`fraction` if this benchmark built it (1 = the whole train split, always there), else ConfigError."""
        if fraction is None:
            return None
        f = float(fraction)
        if f == 1.0:
            return 1.0
        built = self.train_fractions
        if not any(abs(f - b) < 1e-9 for b in built):
            have = ", ".join(f"{b:g}" for b in built) if built else "none"
            raise ConfigError(
                f"train fraction {f:g} was not built into this benchmark (built: {have}; "
                "rebuild with build-dataset --train-fractions)",
                self.root / "benchmark.json",
            )
        return f

    def manifest(self, pool: str) -> pd.DataFrame:
        if pool not in POOLS:
            raise ConfigError(f"unknown pool {pool!r} (teacher or student)")
        if pool not in self._manifests:
            self._manifests[pool] = read_manifest(self.root / f"{pool}.parquet")
        return self._manifests[pool]

    @property
    def sckd_pairs(self) -> pd.DataFrame | None:
        return (
            pd.read_parquet(self.root / "sckd_pairs.parquet")
            if "sckd_pairs.parquet" in self.card["manifests_sha256"]
            else None
        )

    @property
    def stats(self) -> dict:
        if self._stats is None:
            self._stats = read_json(self.root / "stats.json")
        return self._stats

    def pool_root(self, pool: str) -> Path:
        from ackd_bench.data.build import resolve_root

        return resolve_root(self.card["roots"][pool], self.root)

    # ------------------------------------------------------------ arrays
    def load_arrays(
        self,
        pool: str,
        split: str,
        bands: list[str] | str | None = None,
        packed: bool = True,
        train_fraction: float | None = None,
    ) -> PoolArrays:
        """(N,C,H,W) raw arrays in manifest order: packed memmap when present, else decoded files (same values).

        `train_fraction` (student train split only): the nested subset built with --train-fractions."""
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r} (train, val or test)")
        df = self.manifest(pool)
        df = df[df["split"] == split]
        keep = None
        fraction = self.check_train_fraction(train_fraction)
        if fraction is not None and fraction < 1.0:
            if pool != "student" or split != "train":
                raise ConfigError(f"a train fraction applies to the student train split, not {pool} {split}")
            keep = np.flatnonzero((df["train_fraction"] <= fraction + 1e-9).to_numpy())
        ids = df["sample_id"].tolist()
        labels = df["label"].to_numpy(dtype=np.int64)
        all_bands = self.available_bands if pool == "teacher" else ["R", "G", "B"]
        got = packing.load_packed(self.root / "packed", f"{pool}_{split}") if packed else None
        if got is not None:
            x, packed_ids = got
            if packed_ids != ids:
                raise DataError(
                    f"packed {pool}_{split} sample order differs from {pool}.parquet",
                    self.root / "packed" / "index.json",
                )
        else:
            x = self._decode(pool, df)
        if keep is not None:
            x, labels, ids = x[keep], labels[keep], [ids[i] for i in keep]
        if pool == "teacher" and bands is not None:
            sel = resolve_band_set(bands)
            idx = band_indices(all_bands, sel)
            if idx != list(range(len(all_bands))):
                x = x[:, idx]
            all_bands = list(sel)
        return PoolArrays(x=x, labels=labels, sample_ids=ids, bands=list(all_bands))

    def load_sckd_teacher(self, split: str, bands: list[str] | str | None = None) -> PoolArrays | None:
        """MS tiles the student images of `split` were rendered from, aligned with `load_arrays("student", split)`."""
        pairs = self.sckd_pairs
        if pairs is None:
            return None
        sids = self.manifest("student").query("split == @split")["sample_id"].tolist()
        tids = pairs.set_index("student_id").loc[sids, "teacher_id"].tolist()
        got = packing.load_packed(self.root / "packed", f"sckd_teacher_{split}")
        if got is not None:
            x, ids = got
        else:
            t = self.manifest("teacher").set_index("sample_id")
            if not set(tids) <= set(t.index):
                raise DataError("SCKD teacher tiles are outside the teacher pool and packed/ is missing", self.root)
            x = np.stack([self.load_arrays("teacher", sp).x[i] for sp, i in self._locate(tids)]) if tids else None
            ids = tids
        labels = self.manifest("student").query("split == @split")["label"].to_numpy(dtype=np.int64)
        out = PoolArrays(x=x, labels=labels, sample_ids=list(ids), bands=self.available_bands)
        if bands is not None:
            sel = list(resolve_band_set(bands))
            out = PoolArrays(
                x=out.x[:, band_indices(out.bands, sel)], labels=labels, sample_ids=out.sample_ids, bands=sel
            )
        return out

    def _locate(self, tids: list[str]) -> list[tuple[str, int]]:
        df = self.manifest("teacher")
        pos = {}
        for sp in SPLITS:
            for i, sid in enumerate(df[df["split"] == sp]["sample_id"]):
                pos[sid] = (sp, i)
        return [pos[t] for t in tids]

    def _decode(self, pool: str, df: pd.DataFrame) -> np.ndarray:
        """Decode the manifest's files (GeoTIFF teacher, PNG student) in manifest order."""
        root = self.pool_root(pool)
        out = []
        for rel in df["path"]:
            path = root / rel
            if not path.is_file():
                raise DataError("file listed in the manifest is missing", path)
            out.append(_read_image(path, pool))
        if not out:
            c = len(self.available_bands) if pool == "teacher" else 3
            return np.zeros((0, c, self.size, self.size), dtype=np.uint8)
        return np.stack(out)

    # ------------------------------------------------------------ normalisation
    def teacher_norm(self, bands: list[str] | str | None = None, mode: str = "mean_std") -> Callable:
        """Callable(uint tensor (N,C,H,W) or (C,H,W) over `bands`) -> float32 tensor.

        mean_std: (x - mean_b) / std_b with teacher-train statistics. per_image_max (fidelity with the
        official code): x / max(image) * 255, floored to uint8, / 255, then (x - 0.5) / 0.5.
        """
        import torch

        sel = list(resolve_band_set(bands)) if bands is not None else self.teacher_bands
        if mode == "per_image_max":

            def per_image_max(x):
                x = x.float()
                dims = tuple(range(-3, 0))
                m = x.amax(dim=dims, keepdim=True).clamp_min(1e-12)
                return (torch.floor(x / m * 255.0) / 255.0 - 0.5) / 0.5

            return per_image_max
        if mode != "mean_std":
            raise ConfigError(f"unknown teacher normalisation {mode!r} (mean_std or per_image_max)")
        st = self.stats["teacher"]
        idx = band_indices(st["bands"], sel)
        mean = torch.tensor([st["mean"][i] for i in idx], dtype=torch.float32).view(-1, 1, 1)
        std = torch.tensor([max(st["std"][i], 1e-6) for i in idx], dtype=torch.float32).view(-1, 1, 1)

        def mean_std(x):
            return (x.float() - mean.to(x.device)) / std.to(x.device)

        return mean_std

    def student_norm(self) -> Callable:
        """Callable(uint8 tensor) -> (x / 255 - mean_c) / std_c with student-train statistics."""
        import torch

        st = self.stats["student"]
        mean = torch.tensor(st["mean"], dtype=torch.float32).view(-1, 1, 1)
        std = torch.tensor([max(s, 1e-6) for s in st["std"]], dtype=torch.float32).view(-1, 1, 1)

        def norm(x):
            return (x.float() / 255.0 - mean.to(x.device)) / std.to(x.device)

        return norm


def _read_image(path: Path, pool: str) -> np.ndarray:
    if pool == "student":
        from PIL import Image

        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1).copy()
    import rasterio

    try:
        with rasterio.open(path) as ds:
            return ds.read()
    except Exception as exc:  # rasterio raises several types
        raise DataError(f"cannot read GeoTIFF ({' '.join(str(exc).split())[:120]})", path) from None
