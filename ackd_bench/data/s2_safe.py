"""Sentinel-2 `.SAFE` products: band files of each granule and the radiometric offset of the product.

Layouts (ESA Products Specification Document):
- L1C: `<product>.SAFE/GRANULE/<granule>/IMG_DATA/<tile>_<date>_B02.jp2` (every band at its native
  resolution), product metadata `MTD_MSIL1C.xml`.
- L2A: `<product>.SAFE/GRANULE/<granule>/IMG_DATA/R10m|R20m|R60m/<tile>_<date>_B02_10m.jp2` (bands
  resampled by sen2cor to the coarser resolutions as well), product metadata `MTD_MSIL2A.xml`.
  The finest resolution available for each band is used.

Radiometric offset (processing baseline >= 04.00, products from 2022-01-25): the product metadata's
`General_Info/Product_Image_Characteristics` lists per-band offsets, `Radiometric_Offset_List/
RADIO_ADD_OFFSET` (L1C) or `BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET` (L2A), keyed by `band_id`
(0..12, resolved to band names through `Spectral_Information_List`), -1000 in practice; reflectance =
(DN + offset) / QUANTIFICATION_VALUE, DN 0 = no data. Older baselines have no offset:
reflectance = DN / QUANTIFICATION_VALUE. `harmonise` maps new DNs onto the old scale (see there).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ackd_bench.data.bands import SENTINEL2_BANDS
from ackd_bench.errors import DataError

# band_id 0..12 of the product metadata when it has no Spectral_Information_List: B01..B08, B8A, B09..B12
BAND_ID_ORDER: tuple[str, ...] = tuple(SENTINEL2_BANDS)
METADATA_FILES = {"MTD_MSIL1C.xml": "L1C", "MTD_MSIL2A.xml": "L2A"}
OFFSET_TAGS = {"L1C": "RADIO_ADD_OFFSET", "L2A": "BOA_ADD_OFFSET"}
QUANTIFICATION_TAGS = {"L1C": "QUANTIFICATION_VALUE", "L2A": "BOA_QUANTIFICATION_VALUE"}
OFFSET_BASELINE = (4, 0)  # first processing baseline whose products carry an offset
SAFE_BAND_FILE = re.compile(r"^.+_(?P<band>B0[1-9]|B1[0-2]|B8A)(?:_(?P<res>10|20|60)m)?\.jp2$", re.IGNORECASE)
HARMONISE_RULE = (
    "DN_out = 0 where DN = 0 (no data), else clip(DN + offset, 1, dtype max): baseline >= 04.00 DNs are "
    "shifted onto the pre-04.00 scale (reflectance = DN_out / QUANTIFICATION_VALUE for every product); "
    "dark pixels whose reflectance is <= 0 are clipped to 1 as older baselines did"
)


@dataclass
class ProductInfo:
    name: str  # product folder name without .SAFE
    level: str  # "L1C" or "L2A"
    baseline: str | None  # "04.00"; None when the metadata does not state it
    quantification: float | None
    offsets: dict[str, int] = field(default_factory=dict)  # band -> DN offset (empty before 04.00)

    def card(self) -> dict:
        return {
            "product": self.name,
            "level": self.level,
            "processing_baseline": self.baseline,
            "quantification_value": self.quantification,
            "offsets_in_metadata": dict(sorted(self.offsets.items())),
        }


def is_safe(path: Path) -> bool:
    return path.is_dir() and path.suffix.upper() == ".SAFE"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].split(":")[-1]


def _band_name(physical: str) -> str:
    """ "B1" / "B01" / "B8A" -> "B01" / "B01" / "B8A"."""
    p = physical.strip().upper()
    return p if p == "B8A" or len(p) == 3 else f"B0{p[1:]}"


def read_product_info(product: Path) -> ProductInfo:
    """Level, processing baseline, quantification value and per-band offsets from MTD_MSIL1C/2A.xml."""
    found = [(product / f, lvl) for f, lvl in METADATA_FILES.items() if (product / f).is_file()]
    if not found:
        raise DataError(f"no product metadata ({' or '.join(METADATA_FILES)})", product)
    path, level = found[0]
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataError(f"unreadable product metadata ({' '.join(str(exc).split())[:120]})", path) from None
    elems = list(root.iter())
    by_tag: dict[str, list[ET.Element]] = {}
    for el in elems:
        by_tag.setdefault(_local(el.tag), []).append(el)
    baseline = (by_tag.get("PROCESSING_BASELINE") or [None])[0]
    baseline_txt = baseline.text.strip() if baseline is not None and baseline.text else None
    quant = (by_tag.get(QUANTIFICATION_TAGS[level]) or [None])[0]
    quant_val = float(quant.text) if quant is not None and quant.text else None
    names = dict(enumerate(BAND_ID_ORDER))
    for info in by_tag.get("Spectral_Information", []):
        if info.get("bandId") is not None and info.get("physicalBand"):
            names[int(info.get("bandId"))] = _band_name(info.get("physicalBand"))
    offsets: dict[str, int] = {}
    for el in by_tag.get(OFFSET_TAGS[level], []):
        try:
            offsets[names[int(el.get("band_id"))]] = int(round(float(el.text)))
        except (TypeError, ValueError, KeyError):
            raise DataError(
                f"bad {OFFSET_TAGS[level]} element (band_id={el.get('band_id')!r}, value={el.text!r})", path
            ) from None
    if baseline_txt is not None and _baseline_tuple(baseline_txt, path) >= OFFSET_BASELINE and not offsets:
        raise DataError(f"processing baseline {baseline_txt} but no {OFFSET_TAGS[level]} values", path)
    return ProductInfo(product.name[: -len(".SAFE")], level, baseline_txt, quant_val, offsets)


def _baseline_tuple(text: str, path: Path) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)\.(\d+)", text)
    if not m:
        raise DataError(f"unreadable PROCESSING_BASELINE {text!r}", path)
    return int(m[1]), int(m[2])


def granule_band_files(product: Path) -> dict[str, dict[str, Path]]:
    """{granule folder name: {band: JP2 file at the finest resolution present}}, granules sorted."""
    granules = sorted(p for p in (product / "GRANULE").glob("*") if (p / "IMG_DATA").is_dir())
    if not granules:
        raise DataError("no GRANULE/*/IMG_DATA folder", product)
    out: dict[str, dict[str, Path]] = {}
    for g in granules:
        best: dict[str, tuple[int, Path]] = {}
        for f in sorted((g / "IMG_DATA").rglob("*")):
            m = SAFE_BAND_FILE.match(f.name)
            if not m or not f.is_file():
                continue
            res = int(m["res"]) if m["res"] else 0  # L1C names carry no resolution: one file per band
            band = m["band"].upper()
            if band not in best or res < best[band][0]:
                best[band] = (res, f)
        if not best:
            raise DataError("no band files (*_B02.jp2 or R10m/*_B02_10m.jp2)", g / "IMG_DATA")
        out[g.name] = {b: f for b, (_, f) in sorted(best.items())}
    return out


def harmonise(dn: np.ndarray, offset: int) -> np.ndarray:
    """Apply a radiometric `offset` (e.g. -1000) to raw DNs, keeping the dtype; see HARMONISE_RULE."""
    if not offset:
        return dn
    if not np.issubdtype(dn.dtype, np.integer):
        return np.where(dn == 0, dn, dn + offset)
    info = np.iinfo(dn.dtype)
    shifted = np.clip(dn.astype(np.int64) + int(offset), 1, info.max).astype(dn.dtype)
    return np.where(dn == 0, np.zeros((), dn.dtype), shifted)
