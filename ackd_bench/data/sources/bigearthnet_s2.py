"""`bigearthnet-s2`: BigEarthNet-S2 (multi-label CORINE land cover, 120 x 120 px Sentinel-2 L2A patches).

Two published layouts are read as they come out of the archives (the root may be the extracted
folder itself or the folder holding it):
- v1.0 (`BigEarthNet-S2-v1.0.tar.gz`, folder `BigEarthNet-v1.0/`): one folder per patch,
  `<patch>/<patch>_B01.tif ... _B12.tif, _B8A.tif` and `<patch>/<patch>_labels_metadata.json`
  (`{"labels": [CLC 2018 names, 43-class nomenclature], "coordinates", "projection", "tile_source",
  "acquisition_date"}`).
- v2.0 (reBEN, `BigEarthNet-S2.tar.zst` + `metadata.parquet`): `metadata.parquet` (columns
  `patch_id`, `labels` = 19-class names) next to `BigEarthNet-S2/<tile>/<patch_id>/<patch_id>_B01.tif ...`,
  where `<tile>` is `patch_id` without its last two `_` fields.
Each patch has 12 single-band GeoTIFFs (Sentinel-2 without B10) at 10 m (B02 B03 B04 B08, 120 px),
20 m (B05 B06 B07 B8A B11 B12, 60 px) and 60 m (B01 B09, 20 px). `read` resamples every band onto the
10 m grid of B02 (bilinear; 10 m bands are read as they are), so a sample is (12, 120, 120) in
`BANDS` order and the file's dtype (uint16).

Options:
- `nomenclature` (19): the 19-class nomenclature of Sumbul et al. 2020 (the BigEarthNet standard;
  mapping below) or 43 (the original CLC level-3 names; v1.0 only). The 43->19 mapping drops 11
  classes (urban non-fabric classes, bare rock, burnt areas, intertidal flats); a patch left without
  labels is skipped (counted in `self.skipped["no_label"]`).
- `primary` ("rarest"): the primary class (matching, student label) of a multi-label patch is its
  label carried by the fewest patches in the scanned set (ties: nomenclature order), so rare classes
  keep patches; "first" takes the first label in nomenclature order.
- `exclude` (None): comma list / sequence of CSV files (relative to the root, or absolute) of patch
  names to skip, e.g. the publisher's `patches_with_seasonal_snow.csv` and
  `patches_with_cloud_and_shadow.csv` (v1.0); the first comma-separated field of each line is read.
- `per_class` (None): keep at most this many patches per primary class (a seeded random choice,
  option `seed`, 0), e.g. to build an M2S-GL-sized teacher pool (~23,000 patches) from 590,326.
Every sample carries all its labels (`extra["labels"]`, primary first; see `_multilabel.py`) and its
patch folder (`extra["patch"]`, relative to the root). A patch is a folder, not a file, so samples are
derived (`path` ""): the build writes each resampled 12-band 10 m patch as one GeoTIFF under
`files/teacher/` of the benchmark (with the patch's CRS and footprint).
Region = the UTM zone EPSG code of the patch; footprint from the B02 header.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np

from ackd_bench.data import raster
from ackd_bench.data.bands import band_indices
from ackd_bench.data.sources import SOURCES, RawSample, Source, sort_samples
from ackd_bench.data.sources._multilabel import LABELS_KEY, rarest_first
from ackd_bench.errors import ConfigError, DataError

BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
REFERENCE_BAND = "B02"  # a 10 m band: its grid is the output grid
META_SUFFIX = "_labels_metadata.json"
V1_FOLDER, V2_FOLDER, V2_METADATA = "BigEarthNet-v1.0", "BigEarthNet-S2", "metadata.parquet"

# CLC 2018 level-3 classes present in BigEarthNet (43), in the publisher's order.
CLASSES_43: tuple[str, ...] = (
    "Continuous urban fabric",
    "Discontinuous urban fabric",
    "Industrial or commercial units",
    "Road and rail networks and associated land",
    "Port areas",
    "Airports",
    "Mineral extraction sites",
    "Dump sites",
    "Construction sites",
    "Green urban areas",
    "Sport and leisure facilities",
    "Non-irrigated arable land",
    "Permanently irrigated land",
    "Rice fields",
    "Vineyards",
    "Fruit trees and berry plantations",
    "Olive groves",
    "Pastures",
    "Annual crops associated with permanent crops",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland",
    "Moors and heathland",
    "Sclerophyllous vegetation",
    "Transitional woodland/shrub",
    "Beaches, dunes, sands",
    "Bare rock",
    "Sparsely vegetated areas",
    "Burnt areas",
    "Inland marshes",
    "Peatbogs",
    "Salt marshes",
    "Salines",
    "Intertidal flats",
    "Water courses",
    "Water bodies",
    "Coastal lagoons",
    "Estuaries",
    "Sea and ocean",
)
# The 19-class nomenclature (Sumbul et al., "BigEarthNet-MM", 2021; label_indices.json of the
# BigEarthNet-S2_19-classes_models repository), in its order.
CLASSES_19: tuple[str, ...] = (
    "Urban fabric",
    "Industrial or commercial units",
    "Arable land",
    "Permanent crops",
    "Pastures",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland and sparsely vegetated areas",
    "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland, shrub",
    "Beaches, dunes, sands",
    "Inland wetlands",
    "Coastal wetlands",
    "Inland waters",
    "Marine waters",
)
# 43 -> 19 by position in CLASSES_43 -> position in CLASSES_19; positions not listed have no 19-class label.
_TO_19_BY_INDEX = {
    0: 0,
    1: 0,
    2: 1,
    11: 2,
    12: 2,
    13: 2,
    14: 3,
    15: 3,
    16: 3,
    18: 3,
    17: 4,
    19: 5,
    20: 6,
    21: 7,
    22: 8,
    23: 9,
    24: 10,
    25: 11,
    31: 11,
    26: 12,
    27: 12,
    28: 13,
    29: 14,
    33: 15,
    34: 15,
    35: 16,
    36: 16,
    38: 17,
    39: 17,
    40: 18,
    41: 18,
    42: 18,
}
TO_19: dict[str, str] = {CLASSES_43[i]: CLASSES_19[j] for i, j in _TO_19_BY_INDEX.items()}


@SOURCES.register("bigearthnet-s2")
class BigEarthNetS2(Source):
    name = "bigearthnet-s2"
    modality = "ms"
    defaults = {"nomenclature": 19, "primary": "rarest", "exclude": None, "per_class": None, "seed": 0}

    def __init__(self, root, *, bands=None, size=64, **options):
        super().__init__(root, bands=bands, size=size, **options)
        self.bands = self.bands or BANDS
        band_indices(BANDS, self.bands)  # unknown band names -> ConfigError now
        self.nomenclature = int(self.options["nomenclature"]) if str(self.options["nomenclature"]).isdigit() else 0
        if self.nomenclature not in (19, 43):
            raise ConfigError(
                f"source 'bigearthnet-s2': nomenclature must be 19 or 43, got {self.options['nomenclature']!r}"
            )
        if self.options["primary"] not in ("rarest", "first"):
            raise ConfigError(
                f"source 'bigearthnet-s2': primary must be 'rarest' or 'first', got {self.options['primary']!r}"
            )
        self.classes = CLASSES_19 if self.nomenclature == 19 else CLASSES_43
        self.skipped: dict[str, int] = {"no_label": 0, "excluded": 0}

    # ---- discovery -------------------------------------------------------------------------------
    def _layout(self) -> tuple[str, Path]:
        """("v1", folder of patch folders) or ("v2", folder holding metadata.parquet and BigEarthNet-S2/)."""
        root = self.root
        if not root.is_dir():
            raise DataError("BigEarthNet-S2 folder not found", root)
        for base in (root, root.parent) if root.name == V2_FOLDER else (root,):
            if (base / V2_METADATA).is_file() and (base / V2_FOLDER).is_dir():
                return "v2", base
        for folder in (root, root / V1_FOLDER):
            if folder.is_dir() and _first_patch(folder) is not None:
                return "v1", folder
        raise DataError(
            f"no BigEarthNet-S2 patches found (expected <patch>/<patch>{META_SUFFIX} (v1.0) "
            f"or {V2_METADATA} + {V2_FOLDER}/ (v2.0))",
            root,
        )

    def _excluded(self) -> set[str]:
        spec = self.options["exclude"]
        if not spec:
            return set()
        files = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
        names: set[str] = set()
        for f in files:
            path = Path(f) if Path(f).is_absolute() else self.root / f
            if not path.is_file():
                raise DataError("exclusion list not found", path)
            for line in path.read_text().splitlines():
                name = line.split(",", 1)[0].strip()
                if name:
                    names.add(name)
        return names

    def _v1_patches(self, folder: Path) -> list[tuple[str, Path, list[str]]]:
        out = []
        for name in sorted(os.listdir(folder)):
            meta = folder / name / f"{name}{META_SUFFIX}"
            if not meta.is_file():
                continue
            try:
                doc = json.loads(meta.read_text())
                labels = doc["labels"]
            except (OSError, ValueError, KeyError, TypeError):
                raise DataError("unreadable BigEarthNet metadata (JSON with a 'labels' list expected)", meta) from None
            if not isinstance(labels, list) or not all(isinstance(c, str) for c in labels):
                raise DataError("'labels' must be a list of class names", meta)
            unknown = sorted(set(labels) - set(CLASSES_43))
            if unknown:
                raise DataError(f"unknown CORINE class name(s) {unknown} (not in the 43-class nomenclature)", meta)
            if self.nomenclature == 19:
                labels = [TO_19[c] for c in labels if c in TO_19]
            out.append((name, folder / name, labels))
        return out

    def _v2_patches(self, base: Path) -> list[tuple[str, Path, list[str]]]:
        import pandas as pd

        meta = base / V2_METADATA
        if self.nomenclature != 19:
            raise ConfigError(
                f"source 'bigearthnet-s2': {V2_METADATA} (v2.0) has 19-class labels only; use nomenclature 19"
            )
        try:
            df = pd.read_parquet(meta, columns=["patch_id", "labels"])
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(
                f"unreadable metadata (Parquet with patch_id and labels expected: {' '.join(str(exc).split())[:120]})",
                meta,
            ) from None
        out = []
        for pid, labels in zip(df["patch_id"], df["labels"]):
            labels = [str(c) for c in labels]
            unknown = sorted(set(labels) - set(CLASSES_19))
            if unknown:
                raise DataError(
                    f"patch {pid}: unknown class name(s) {unknown} (not in the 19-class nomenclature)", meta
                )
            tile = "_".join(str(pid).split("_")[:-2])
            out.append((str(pid), base / V2_FOLDER / tile / str(pid), labels))
        return sorted(out)

    def scan(self) -> list[RawSample]:
        version, folder = self._layout()
        self.version = version
        patches = self._v1_patches(folder) if version == "v1" else self._v2_patches(folder)
        excluded = self._excluded()
        kept = []
        for name, pdir, labels in patches:
            if name in excluded:
                self.skipped["excluded"] += 1
            elif not labels:
                self.skipped["no_label"] += 1
            else:
                kept.append((name, pdir, labels))
        label_sets = [labels for _, _, labels in kept]
        if self.options["primary"] == "rarest":
            ordered = rarest_first(label_sets, self.classes)
        else:
            rank = {c: i for i, c in enumerate(self.classes)}
            ordered = [sorted(set(labels), key=rank.__getitem__) for labels in label_sets]
        chosen = self._subsample([(name, labels[0]) for (name, _, _), labels in zip(kept, ordered)])
        samples = []
        for (name, pdir, _), labels in zip(kept, ordered):
            if name not in chosen:
                continue
            self._check_files(name, pdir)
            ref = pdir / f"{name}_{REFERENCE_BAND}.tif"
            head = raster.read_header(ref)
            raster.check_header(ref, head, count=1)
            samples.append(
                RawSample(
                    sample_id=name,
                    class_name=labels[0],
                    path="",
                    source=self.name,
                    region=raster.utm_region(head.crs) or self.root.resolve().name,
                    height=head.height,
                    width=head.width,
                    bands=self.bands,
                    crs=head.crs,
                    footprint=raster.footprint_4326(head.crs, head.bounds),
                    extra={LABELS_KEY: labels, "patch": pdir.relative_to(self.root).as_posix()},
                )
            )
        return sort_samples(samples)

    def card_details(self) -> dict:
        """Layout, nomenclature, primary rule and skipped patches, for the benchmark card (after scan)."""
        return {
            "layout": {"v1": "BigEarthNet-S2 v1.0", "v2": "BigEarthNet-S2 v2.0 (reBEN)"}.get(
                getattr(self, "version", ""), "unknown"
            ),
            "nomenclature": self.nomenclature,
            "primary": self.options["primary"],
            "skipped": dict(self.skipped),
            "resampling": "bilinear onto the 10 m grid of B02",
        }

    def _subsample(self, primaries: list[tuple[str, str]]) -> set[str]:
        """Patch names kept: all, or with option `per_class` at most that many per primary class (a
        seeded random choice per class; option `seed`)."""
        limit = self.options["per_class"]
        if limit is None:
            return {name for name, _ in primaries}
        if int(limit) < 1:
            raise ConfigError(f"source 'bigearthnet-s2': per_class must be >= 1, got {limit!r}")
        by_class: dict[str, list[str]] = {}
        for name, cls in primaries:
            by_class.setdefault(cls, []).append(name)
        keep: set[str] = set()
        for cls, names in sorted(by_class.items()):
            names = sorted(names)
            rng = np.random.default_rng([int(self.options["seed"]), zlib.crc32(cls.encode("utf-8"))])
            keep.update(names[i] for i in rng.permutation(len(names))[: int(limit)])
        self.skipped["per_class"] = len(primaries) - len(keep)
        return keep

    @staticmethod
    def _check_files(name: str, pdir: Path) -> None:
        if not pdir.is_dir():
            raise DataError("patch folder listed in the metadata is missing", pdir)
        present = set(os.listdir(pdir))
        missing = [b for b in BANDS if f"{name}_{b}.tif" not in present]
        if missing:
            raise DataError(f"patch lacks band file(s) {missing}", pdir)

    # ---- reading ---------------------------------------------------------------------------------
    def read(self, sample: RawSample) -> np.ndarray:
        import rasterio
        from rasterio.enums import Resampling
        from rasterio.errors import RasterioError

        pdir = self.root / sample.extra["patch"]
        ref = raster.read_header(pdir / f"{sample.sample_id}_{REFERENCE_BAND}.tif")
        out = np.empty((len(sample.bands), ref.height, ref.width), dtype=np.uint16)
        dtype = None
        for i, band in enumerate(sample.bands):
            path = pdir / f"{sample.sample_id}_{band}.tif"
            try:
                with rasterio.open(path) as ds:
                    if ds.count != 1:
                        raise DataError(f"expected 1 band, found {ds.count}", path)
                    if dtype is None:
                        dtype = ds.dtypes[0]
                        out = out.astype(dtype, copy=False)
                    elif ds.dtypes[0] != dtype:
                        raise DataError(f"dtype {ds.dtypes[0]} differs from the patch's other bands ({dtype})", path)
                    if not np.allclose(tuple(ds.bounds), ref.bounds, atol=1e-3 * abs(ref.transform.a)):
                        raise DataError(
                            f"band extent {tuple(ds.bounds)} differs from {REFERENCE_BAND}'s {ref.bounds}", path
                        )
                    same = (ds.height, ds.width) == (ref.height, ref.width)
                    out[i] = ds.read(
                        1,
                        out_shape=(ref.height, ref.width),
                        resampling=Resampling.nearest if same else Resampling.bilinear,
                    )
            except (RasterioError, OSError, ValueError) as exc:
                raise DataError(f"cannot read band {band} ({' '.join(str(exc).split())[:160]})", path) from None
        raster.check_not_empty(pdir, out)
        return out


def _first_patch(folder: Path) -> str | None:
    """Name of one v1.0 patch folder directly under `folder`, or None (stops at the first hit)."""
    with os.scandir(folder) as it:
        for entry in it:
            if entry.is_dir() and (Path(entry.path) / f"{entry.name}{META_SUFFIX}").is_file():
                return entry.name
    return None
