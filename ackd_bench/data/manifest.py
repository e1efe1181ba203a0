"""Manifests: one row per sample, written as (Geo)Parquet deterministically and read back.

Columns (ARCHITECTURE.md §2): sample_id, path, sha256, class_name, label, split, source, region, height,
width, bands, crs, source_class, geometry (EPSG:4326; only when the pool has footprints), and for a
multi-label teacher `labels` (list<int64>: every class index of the sample, sorted, `label` included).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from ackd_bench.errors import DataError
from ackd_bench.io import atomic_path

COLUMNS = [
    "sample_id",
    "path",
    "sha256",
    "class_name",
    "label",
    "split",
    "source",
    "region",
    "height",
    "width",
    "bands",
    "crs",
    "source_class",
]
OPTIONAL_COLUMNS = ["labels"]  # multi-label teacher: sorted list of class indices (the primary `label` included)
SPLITS = ("train", "val", "test")
PARQUET_OPTS = {"compression": "zstd", "compression_level": 3}


def check_rel_path(path: str, where: str | Path) -> str:
    """A manifest path must be relative, POSIX and never escape its root."""
    p = PurePosixPath(path)
    if not path or "\\" in path or p.is_absolute() or ".." in p.parts or path.startswith("~") or ":" in p.parts[0]:
        raise DataError(f"manifest path {path!r} is absolute or escapes its root", where)
    return path


def make_frame(rows: list[dict[str, Any]], geometries: list[Any] | None) -> pd.DataFrame:
    """Rows (dicts with COLUMNS) -> DataFrame sorted by (label, sample_id); a GeoDataFrame with footprints."""
    df = pd.DataFrame(rows, columns=COLUMNS + [c for c in OPTIONAL_COLUMNS if rows and c in rows[0]])
    df = df.astype({"label": "int64", "height": "int64", "width": "int64"})
    for col in ("crs",):
        df[col] = df[col].astype(object)
    if geometries is not None and any(g is not None for g in geometries):
        import geopandas as gpd

        df = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(list(geometries), crs="EPSG:4326"), crs="EPSG:4326")
    df = df.sort_values(["label", "sample_id"], kind="stable").reset_index(drop=True)
    return df


def write_manifest(df: pd.DataFrame, path: Path) -> None:
    """Deterministic Parquet (GeoParquet when `df` has a geometry column): no index, fixed compression."""
    with atomic_path(path) as tmp:
        if "geometry" in df.columns and hasattr(df, "to_wkb"):
            df.to_parquet(tmp, index=False, write_covering_bbox=False, **PARQUET_OPTS)
        else:
            write_table(df, tmp)


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Plain Parquet through pyarrow, no pandas index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(pd.DataFrame(df), preserve_index=False)
    pq.write_table(table, path, **PARQUET_OPTS)


def read_manifest(path: Path, geometry: bool = False) -> pd.DataFrame:
    """Read a manifest; the geometry column is dropped unless `geometry` (then a GeoDataFrame)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("manifest not found", path)
    try:
        if geometry:
            import geopandas as gpd
            import pyarrow.parquet as pq

            if b"geo" in (pq.read_schema(path).metadata or {}):
                return gpd.read_parquet(path)
        df = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable Parquet ({' '.join(str(exc).split())[:160]})", path) from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"manifest lacks columns {missing}", path)
    return df.drop(columns=["geometry"], errors="ignore")
