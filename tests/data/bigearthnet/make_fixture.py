#!/usr/bin/env python3
"""Write a tiny BigEarthNet-S2 fixture in the publisher's real layouts (tests call `write_fixture`).

v1.0: `BigEarthNet-v1.0/<patch>/<patch>_B01.tif ... _B12.tif, _B8A.tif` + `<patch>_labels_metadata.json`
(43-class CORINE names, coordinates, projection WKT, tile_source, acquisition_date).
v2.0: `metadata.parquet` (patch_id, labels as 19-class names, split, country, s1_name) +
`BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_B01.tif ...`.
Every band is a real single-band uint16 GeoTIFF on its native grid: 10 m (B02 B03 B04 B08, SIZE px),
20 m (B05 B06 B07 B8A B11 B12, SIZE/2 px) and 60 m (B01 B09, SIZE/6 px), all with the same UTM 33N
extent, so the source must resample to 10 m. Pixels: the synthetic generator's spectra for the patch's
first label on most of the patch and its second label on a strip (coarser bands are block means).
Run from the repo root: `python tests/data/bigearthnet/make_fixture.py OUT_DIR [v1|v2]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ackd_bench.data.bands import SENTINEL2_BANDS

SIZE = 30  # pixels at 10 m (divisible by 6: 60 m bands are SIZE/6 px)
EPSG = 32633
X0, Y0 = 399960.0, 5300040.0  # upper-left corner of tile 33UUP
BAND_RES = {b: band.resolution_m for b, band in SENTINEL2_BANDS.items() if b != "B10"}  # BigEarthNet has no B10
# 43-class name -> synthetic material used to draw it
MATERIAL = {
    "Coniferous forest": "Forest",
    "Broad-leaved forest": "Forest",
    "Non-irrigated arable land": "Crops",
    "Water bodies": "Water",
    "Sea and ocean": "Water",
    "Road and rail networks and associated land": "Road",
    "Airports": "Road",
    "Pastures": "Grass",
}
MAIN = ("Coniferous forest", "Non-irrigated arable land", "Water bodies")
V1_DATE, V2_PREFIX = "S2A_MSIL2A_20170613T101031", "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP"


def patch_plan(per_class: int = 8) -> list[list[str]]:
    """43-class label lists: `per_class` patches led by each MAIN class; some carry a second MAIN class,
    some a road (no 19-class label), and one patch is an airport only (no 19-class label at all)."""
    plan = []
    for k in range(per_class * len(MAIN)):
        labels = [MAIN[k % 3]]
        if k % 3 == 1 and k % 2 == 1:
            labels.append(MAIN[(k + 1) % 3])
        if k % 5 == 0:
            labels.append("Road and rail networks and associated land")
        if k % 7 == 3:
            labels.append("Pastures")
        plan.append(labels)
    plan.append(["Airports"])
    return plan


def to_19(labels: list[str]) -> list[str]:
    from ackd_bench.data.sources.bigearthnet_s2 import TO_19

    return sorted({TO_19[c] for c in labels if c in TO_19})


def _pixels(labels: list[str], k: int) -> np.ndarray:
    """(13, SIZE, SIZE) DN in EuroSAT band order: first label's material, a strip of the second's."""
    from ackd_bench.data.bands import EUROSAT_ORDER
    from ackd_bench.data.sources.synthetic import generate_ms, to_uint16

    tiles = [generate_ms(0, f"ben-{k}-{i}", MATERIAL[c], SIZE, EUROSAT_ORDER) for i, c in enumerate(labels[:2])]
    tile = tiles[0]
    if len(tiles) > 1:
        tile[:, :, SIZE * 2 // 3 :] = tiles[1][:, :, SIZE * 2 // 3 :]
    return to_uint16(tile)


def _band(tile13: np.ndarray, band: str) -> np.ndarray:
    from ackd_bench.data.bands import EUROSAT_ORDER

    x = tile13[EUROSAT_ORDER.index(band)].astype(np.float64)
    f = BAND_RES[band] // 10
    return np.rint(x.reshape(SIZE // f, f, SIZE // f, f).mean(axis=(1, 3))).astype(np.uint16)


def _write_patch(pdir: Path, name: str, labels: list[str], k: int) -> dict:
    import rasterio
    from affine import Affine

    pdir.mkdir(parents=True, exist_ok=True)
    tile = _pixels(labels, k)
    ulx, uly = X0 + (k % 10) * SIZE * 10.0, Y0 - (k // 10) * SIZE * 10.0
    for band, res in BAND_RES.items():
        arr = _band(tile, band)
        profile = dict(
            driver="GTiff",
            width=arr.shape[1],
            height=arr.shape[0],
            count=1,
            dtype="uint16",
            crs=f"EPSG:{EPSG}",
            transform=Affine(float(res), 0.0, ulx, 0.0, -float(res), uly),
        )
        with rasterio.open(pdir / f"{name}_{band}.tif", "w", **profile) as ds:
            ds.write(arr, 1)
    return {"ulx": int(ulx), "uly": int(uly), "lrx": int(ulx + SIZE * 10), "lry": int(uly - SIZE * 10)}


def write_fixture(out: str | Path, version: str = "v1", per_class: int = 8) -> Path:
    """Write the fixture under `out`; returns the root to give the source."""
    from pyproj import CRS

    out = Path(out)
    plan = patch_plan(per_class)
    if version == "v1":
        root = out / "BigEarthNet-v1.0"
        for k, labels in enumerate(plan):
            row, col = divmod(k, 10)
            name = f"{V1_DATE}_{row}_{col}"
            coords = _write_patch(root / name, name, labels, k)
            meta = {
                "labels": labels,
                "coordinates": coords,
                "projection": CRS.from_epsg(EPSG).to_wkt(),
                "tile_source": "S2A_MSIL1C_20170613T101031_N0205_R022_T33UUP_20170613T101030",
                "acquisition_date": "2017-06-13 10:10:31",
            }
            (root / name / f"{name}_labels_metadata.json").write_text(json.dumps(meta))
        return out
    if version != "v2":
        raise ValueError(f"version must be v1 or v2, got {version!r}")
    import pandas as pd

    rows = []
    for k, labels in enumerate(plan):
        labels19 = to_19(labels)
        if not labels19:
            continue  # v2.0 has no patch without a 19-class label
        row, col = divmod(k, 10)
        pid = f"{V2_PREFIX}_{row}_{col}"
        _write_patch(out / "BigEarthNet-S2" / V2_PREFIX / pid, pid, labels, k)
        rows.append(
            {
                "patch_id": pid,
                "labels": labels19,
                "split": "train",
                "country": "Austria",
                "s1_name": f"S1B_IW_GRDH_1SDV_20170612T165809_33UUP_{row}_{col}",
            }
        )
    pd.DataFrame(rows).to_parquet(out / "metadata.parquet", index=False)
    return out


if __name__ == "__main__":
    write_fixture(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "v1")
