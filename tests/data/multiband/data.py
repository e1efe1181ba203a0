#!/usr/bin/env python3
"""Write the tiny multiband-tif fixture: 14-band uint16 GeoTIFFs (NaSC-TG2-like band count), 16 x 16,
two classes x two files, cut from real EuroSAT tiles (13 bands + their mean as band 14), keeping the
real UTM georeferencing. Run from the repo root: `.venv/bin/python tests/data/multiband/data.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from ackd_bench.io import atomic_path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("ACKD_SHARED_DATA", HERE.parents[3] / "shared" / "data")) / "eurosat-ms-200"
FILES = [
    ("Lake", "River/River_3.tif"),
    ("Lake", "River/River_4.tif"),
    ("Town", "Residential/Residential_1.tif"),
    ("Town", "Residential/Residential_2.tif"),
]
BAND_NAMES = ",".join(f"b{i:02d}" for i in range(1, 15))


def main() -> None:
    window = Window(0, 0, 16, 16)
    for cls, src in FILES:
        with rasterio.open(SHARED / src) as ds:
            arr = ds.read(window=window)
            profile = dict(
                driver="GTiff",
                width=16,
                height=16,
                count=14,
                dtype="uint16",
                crs=ds.crs,
                transform=ds.window_transform(window),
            )
        arr = np.concatenate([arr, arr.mean(0, keepdims=True).astype(np.uint16)])
        with atomic_path(HERE / "tiles" / cls / Path(src).name) as tmp:
            with rasterio.open(tmp, "w", **profile) as out:
                out.write(arr)


if __name__ == "__main__":
    main()
