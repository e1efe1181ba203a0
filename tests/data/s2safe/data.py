#!/usr/bin/env python3
"""Write tiny Sentinel-2 `.SAFE` products (L1C and L2A, JPEG 2000 bands) cut from a real scene.

The pixels are the real Boadella L1C scene of ../shared/data/sentinel2-scenes (10 m, 12 bands, no B10):
its top-left SIZE x SIZE pixels become the 10 m bands, 2 x 2 / 6 x 6 block means the 20 m / 60 m bands,
placed on a UTM 31N grid at the scene's own position (10 m pixels, origin on a 60 m multiple).
Products (`make_product`):
- L1C: `GRANULE/L1C_*/IMG_DATA/<tile>_<date>_B01.jp2` ... each band once at its native resolution.
- L2A: `GRANULE/L2A_*/IMG_DATA/R10m|R20m|R60m/<tile>_<date>_B02_10m.jp2` ..., every band at its own
  resolution and the coarser ones (as sen2cor writes them), plus an SCL file that readers must skip.
- Processing baseline 04.00 stores DN + 1000 with RADIO_ADD_OFFSET / BOA_ADD_OFFSET = -1000 in the
  metadata (ESA PSD); an older baseline stores the DNs as they are, without offset elements. So a
  reader that applies the offset gets the same DNs from both.
Metadata XML: the real element names and nesting of MTD_MSIL1C.xml / MTD_MSIL2A.xml (General_Info /
Product_Info / PROCESSING_BASELINE, Product_Image_Characteristics / QUANTIFICATION_VALUE(S_LIST), the
offset lists keyed by band_id, Spectral_Information_List bandId -> physicalBand), nothing else.
Run from the repo root: `.venv/bin/python tests/data/s2safe/data.py OUT_DIR`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ackd_bench.data.bands import SENTINEL2_BANDS

HERE = Path(__file__).resolve().parent
SCENE = (
    Path(os.environ.get("ACKD_SHARED_DATA", HERE.parents[3] / "shared" / "data"))
    / "sentinel2-scenes"
    / "Boadella_2020-01-13.tif"
)
SCENE_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")  # file order
BAND_IDS = tuple(SENTINEL2_BANDS)  # band_id 0..12 of the product metadata
NATIVE = {b: SENTINEL2_BANDS[b].resolution_m for b in SCENE_BANDS}  # native resolution (m) of each band
L2A_RES = {
    10: ("B02", "B03", "B04", "B08"),
    20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12"),
    60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12"),
}
SIZE = 360  # 10 m pixels; a multiple of 6 so the 60 m grid covers the tile exactly
TILE, DATE = "T31TDG", "20200113T105421"
CRS = "EPSG:32631"


def scene_bands(size: int = SIZE) -> tuple[dict[str, np.ndarray], object]:
    """{band: 10 m uint16 array} and the UTM transform of the 10 m grid."""
    import rasterio
    from pyproj import Transformer
    from rasterio.transform import Affine

    with rasterio.open(SCENE) as ds:
        arr = ds.read(window=((0, size), (0, size)))
        lon, lat = ds.transform.c, ds.transform.f
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(lon, lat)
    x0, y0 = 60.0 * round(x / 60.0), 60.0 * round(y / 60.0)
    return {b: arr[i].astype(np.uint16) for i, b in enumerate(SCENE_BANDS)}, Affine(10.0, 0.0, x0, 0.0, -10.0, y0)


def coarsen(a: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return a
    h, w = a.shape
    return np.floor(a.reshape(h // k, k, w // k, k).mean(axis=(1, 3)) + 0.5).astype(a.dtype)


def write_jp2(path: Path, arr: np.ndarray, transform) -> None:
    """Lossless JPEG 2000 (OpenJPEG), georeferenced (GMLJP2 + GeoJP2 boxes, as ESA's files)."""
    import rasterio

    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="JP2OpenJPEG",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=arr.dtype.name,
        crs=CRS,
        transform=transform,
        QUALITY=100,
        REVERSIBLE="YES",
    ) as ds:
        ds.write(arr, 1)


def metadata_xml(level: str, baseline: str, offset: int | None) -> str:
    product = "Level-1C_User_Product" if level == "L1C" else "Level-2A_User_Product"
    spectral = "".join(
        f'<Spectral_Information bandId="{i}" physicalBand="{b if b == "B8A" else "B" + str(int(b[1:]))}"/>'
        for i, b in enumerate(BAND_IDS)
    )
    if level == "L1C":
        quant = '<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>'
        offsets = (
            ""
            if offset is None
            else "<Radiometric_Offset_List>"
            + "".join(f'<RADIO_ADD_OFFSET band_id="{i}">{offset}</RADIO_ADD_OFFSET>' for i in range(len(BAND_IDS)))
            + "</Radiometric_Offset_List>"
        )
    else:
        quant = (
            '<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>'
            '<AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>'
        )
        offsets = (
            ""
            if offset is None
            else "<BOA_ADD_OFFSET_VALUES_LIST>"
            + "".join(f'<BOA_ADD_OFFSET band_id="{i}">{offset}</BOA_ADD_OFFSET>' for i in range(len(BAND_IDS)))
            + "</BOA_ADD_OFFSET_VALUES_LIST>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<n1:{product} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_{level[:2]}-{level[2:]}.xsd">'
        f"<n1:General_Info><Product_Info><PROCESSING_LEVEL>Level-{level[1:]}</PROCESSING_LEVEL>"
        f"<PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE></Product_Info>"
        f"<Product_Image_Characteristics>{quant}{offsets}"
        f"<Spectral_Information_List>{spectral}</Spectral_Information_List></Product_Image_Characteristics>"
        f"</n1:General_Info></n1:{product}>\n"
    )


def make_product(out: Path, level: str, baseline: str, size: int = SIZE) -> Path:
    """Write one product into `out`; returns the .SAFE folder. Baseline >= 04.00 gets the -1000 offset."""
    from rasterio.transform import Affine

    new = tuple(int(x) for x in baseline.split(".")) >= (4, 0)
    offset = -1000 if new else None
    bands, t10 = scene_bands(size)
    base = f"N{baseline.replace('.', '')}_R051_{TILE}_20200113T111335"
    safe = out / f"S2A_MSI{level}_{DATE}_{base}.SAFE"
    granule = safe / "GRANULE" / f"{level}_{TILE}_A023795_{DATE}" / "IMG_DATA"
    safe.mkdir(parents=True)
    (safe / f"MTD_MSI{level}.xml").write_text(metadata_xml(level, baseline, offset), encoding="utf-8")

    def stored(a: np.ndarray) -> np.ndarray:
        return np.where(a == 0, 0, a + 1000).astype(np.uint16) if new else a

    if level == "L1C":
        for b, res in NATIVE.items():
            write_jp2(
                granule / f"{TILE}_{DATE}_{b}.jp2", stored(coarsen(bands[b], res // 10)), t10 @ Affine.scale(res // 10)
            )
    else:
        for res, names in L2A_RES.items():
            for b in names:
                a = coarsen(bands[b], NATIVE[b] // 10)
                if res >= NATIVE[b]:
                    a = coarsen(a, res // NATIVE[b])
                else:  # sen2cor also writes B01 at 20 m, upsampled from 60 m
                    a = np.repeat(np.repeat(a, NATIVE[b] // res, axis=0), NATIVE[b] // res, axis=1)
                write_jp2(
                    granule / f"R{res}m" / f"{TILE}_{DATE}_{b}_{res}m.jp2", stored(a), t10 @ Affine.scale(res // 10)
                )
        scl = np.full((size // 2, size // 2), 4, dtype=np.uint8)  # scene classification: "vegetation"
        write_jp2(granule / "R20m" / f"{TILE}_{DATE}_SCL_20m.jp2", scl, t10 @ Affine.scale(2))
    return safe


def main(argv: list[str]) -> None:
    out = Path(argv[0] if argv else "s2safe-products")
    for level, baseline in (("L1C", "02.08"), ("L1C", "04.00"), ("L2A", "02.14"), ("L2A", "04.00")):
        print(make_product(out, level, baseline))


if __name__ == "__main__":
    main(sys.argv[1:])
