"""Build-time checks: pools disjoint (footprints, file content), every class in every split, sane bands."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ackd_bench.data.manifest import SPLITS
from ackd_bench.errors import DataError

VEGETATION_WORDS = ("forest", "pasture", "herbaceous", "crop", "vegetation", "grass", "meadow")


def footprint_overlaps(teacher_geoms: Sequence[Any], student_geoms: Sequence[Any]) -> int:
    """Number of (teacher, student) footprint pairs whose intersection has positive area."""
    t = [g for g in teacher_geoms if g is not None]
    s = [g for g in student_geoms if g is not None]
    if not t or not s:
        return 0
    import geopandas as gpd

    tg = gpd.GeoDataFrame(geometry=gpd.GeoSeries(t, crs="EPSG:4326"))
    sg = gpd.GeoDataFrame(geometry=gpd.GeoSeries(s, crs="EPSG:4326"))
    joined = gpd.sjoin(tg, sg, predicate="intersects", how="inner")
    n = 0
    for ti, si in zip(joined.index, joined["index_right"]):
        if t[ti].intersection(s[si]).area > 1e-14:
            n += 1
    return n


def check_disjoint_footprints(teacher_geoms, student_geoms, rule: str, where: str) -> int:
    n = footprint_overlaps(teacher_geoms, student_geoms)
    if n and rule == "region":
        raise DataError(
            f"{n} teacher/student footprint pair(s) overlap; a region split must keep the pools apart", where
        )
    return n


def check_disjoint_content(teacher_sha: dict[str, str], student_sha: dict[str, str], where: str) -> None:
    """No file may appear (by sha256) in both pools."""
    inv = {h: sid for sid, h in teacher_sha.items()}
    for sid, h in sorted(student_sha.items()):
        if h in inv:
            raise DataError(f"student sample {sid!r} has the same file content as teacher sample {inv[h]!r}", where)


def check_class_coverage(
    split_of: dict[str, str], class_of: dict[str, str], classes: Sequence[str], pool: str, where: str
) -> dict:
    """counts[split][class]; a class with no image in some split is a DataError naming the class."""
    counts = {sp: {c: 0 for c in classes} for sp in SPLITS}
    for sid, sp in split_of.items():
        counts[sp][class_of[sid]] += 1
    for c in classes:
        short = [sp for sp in SPLITS if counts[sp][c] == 0]
        if short:
            total = sum(counts[sp][c] for sp in SPLITS)
            raise DataError(f"{pool} class {c!r} is short: {total} image(s), none in split(s) {short}", where)
    return counts


def check_band_sanity(x: np.ndarray, bands: Sequence[str], class_names: Sequence[str], where: str) -> None:
    """Sentinel-2 plausibility so that a wrong band order fails loudly.

    B10 (cirrus) must be far darker than the median band; B08 (NIR) must exceed B04 (red) on vegetation classes.
    """
    bands = list(bands)
    means = x.reshape(x.shape[0], x.shape[1], -1).mean(axis=2, dtype=np.float64)  # (N, C)
    band_means = means.mean(axis=0)
    if "B10" in bands and len(bands) > 3:
        i = bands.index("B10")
        others = np.median(np.delete(band_means, i))
        if band_means[i] > 0.25 * others:
            raise DataError(
                f"band B10 (cirrus) mean {band_means[i]:.0f} is not far below the other bands (median {others:.0f}): wrong band order?",
                where,
            )
    if "B08" in bands and "B04" in bands:
        nir, red = bands.index("B08"), bands.index("B04")
        names = np.asarray(class_names)
        for cls in sorted(set(class_names)):
            if not any(w in cls.lower() for w in VEGETATION_WORDS):
                continue
            m = means[names == cls].mean(axis=0)
            if m[nir] <= m[red]:
                raise DataError(
                    f"vegetation class {cls!r}: NIR B08 mean {m[nir]:.0f} is not above red B04 {m[red]:.0f}: wrong band order?",
                    where,
                )
