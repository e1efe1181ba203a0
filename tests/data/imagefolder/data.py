#!/usr/bin/env python3
"""Write the tiny imagefolder-rgb fixture: real EuroSAT tiles rendered to RGB, saved as .jpg/.png/.tif
at different sizes, two classes. Run from the repo root: `.venv/bin/python tests/data/imagefolder/data.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image

from ackd_bench.data.bands import EUROSAT_ORDER
from ackd_bench.data.render import render_rgb
from ackd_bench.io import atomic_path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("ACKD_SHARED_DATA", HERE.parents[3] / "shared" / "data")) / "eurosat-ms-200"
# (class, source tile, file name, size)
FILES = [
    ("Forest", "Forest/Forest_1.tif", "forest_a.jpg", (40, 40)),
    ("Forest", "Forest/Forest_2.tif", "forest_b.png", (64, 64)),
    ("Forest", "Forest/Forest_3.tif", "forest_c.tif", (50, 47)),
    ("River", "River/River_1.tif", "river_a.jpg", (96, 96)),
    ("River", "River/River_2.tif", "river_b.png", (30, 36)),
]


def main() -> None:
    for cls, src, name, (w, h) in FILES:
        with rasterio.open(SHARED / src) as ds:
            rgb = render_rgb(ds.read(), EUROSAT_ORDER)
        img = Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0))).resize((w, h), Image.Resampling.BILINEAR)
        fmt = {".jpg": "JPEG", ".png": "PNG", ".tif": "TIFF"}[Path(name).suffix]
        with atomic_path(HERE / "images" / cls / name) as tmp:
            img.save(tmp, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))


if __name__ == "__main__":
    main()
