"""Recreate the shipped EuroSAT-MS sample: 200 real tiles, losslessly recompressed.

Usage: python datasets/eurosat-sample/make_sample.py [--src /work/shared/data/eurosat-ms-200]

Each source GeoTIFF is rewritten as DEFLATE + horizontal predictor (predictor=2), band-interleaved,
one 64-row strip per band. Pixels, dtype, CRS and transform are verified equal after writing, then
`SHA256SUMS` (sorted, paths relative to this folder) is regenerated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import rasterio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from ackd_bench.io import atomic_path, atomic_write_text, sha256_file  # noqa: E402

CREATION = {"compress": "deflate", "predictor": 2, "zlevel": 9, "interleave": "band", "tiled": False}


def recompress(src: Path, dst: Path) -> None:
    """Write `src` to `dst` losslessly recompressed and check pixels, CRS and transform."""
    with rasterio.open(src) as d:
        profile = d.profile.copy()
        data = d.read()
        tags = d.tags()
    profile.update(CREATION, blockysize=profile["height"])
    profile.pop("blockxsize", None)
    with atomic_path(dst) as tmp:
        with rasterio.open(tmp, "w", **profile) as out:
            out.write(data)
            out.update_tags(**tags)
        with rasterio.open(tmp) as chk:
            same = (
                np.array_equal(chk.read(), data)
                and chk.dtypes == tuple([str(data.dtype)] * data.shape[0])
                and chk.crs == profile["crs"]
                and chk.transform == profile["transform"]
            )
        if not same:
            raise SystemExit(f"{dst}: recompressed tile differs from {src}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=HERE.parents[2] / "shared" / "data" / "eurosat-ms-200")
    args = parser.parse_args()
    files = sorted(args.src.glob("*/*.tif"))
    if len(files) != 200:
        raise SystemExit(f"{args.src}: expected 200 tiles, found {len(files)}")
    tiles = HERE / "tiles"
    for src in files:
        recompress(src, tiles / src.parent.name / src.name)
    lines = [f"{sha256_file(p)}  {p.relative_to(HERE).as_posix()}" for p in sorted(tiles.glob("*/*.tif"))]
    atomic_write_text(HERE / "SHA256SUMS", "\n".join(lines) + "\n")
    size = sum(p.stat().st_size for p in tiles.glob("*/*.tif"))
    print(f"wrote {len(lines)} tiles, {size / 1e6:.1f} MB, into {tiles}")


if __name__ == "__main__":
    main()
