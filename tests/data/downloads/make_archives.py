#!/usr/bin/env python3
"""Build tiny archives in each download entry's real layout, for `ackd-bench download` tests.

Each archive holds the entry's published folder layout (`entry.layout`) and class folders
(`entry.classes`) with a few small images: EuroSAT-MS uses real tiles from datasets/eurosat-sample/,
the RGB sets get seeded JPEG/TIFF images, NaSC-TG2 MS seeded 14-band uint16 GeoTIFFs, BigEarthNet-S2 v1.0
per-band GeoTIFFs at 10/20/60 m (60/30/10 px: half the real 120 px patch, UTM; the synthetic generator's spectra for the patch's first
CORINE label) plus `<patch>_labels_metadata.json`, every label of the m2s-gl class map present. Also unsafe
archives (`..` member, absolute path, symlink, hard link) for the refusal tests.

    python tests/data/downloads/make_archives.py OUT_DIR    # writes the archives and prints a catalog JSON
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
SAMPLE_TILES = REPO / "datasets" / "eurosat-sample" / "tiles"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
# BigEarthNet-S2 v1.0 bands (no B10) with their pixel size in a 120 x 120 (10 m) patch.
BEN_BANDS = {
    "B01": 20,
    "B02": 120,
    "B03": 120,
    "B04": 120,
    "B05": 60,
    "B06": 60,
    "B07": 60,
    "B08": 120,
    "B8A": 60,
    "B09": 20,
    "B11": 60,
    "B12": 60,
}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
    return path


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1577836800, 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


def _rgb_bytes(rng: np.random.Generator, size: int, fmt: str, tint: int) -> bytes:
    from PIL import Image

    base = np.array([(tint * 37) % 256, (tint * 91) % 256, (tint * 53) % 256], dtype=np.int16)
    x = np.clip(base + rng.integers(-40, 40, size=(size, size, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(x, mode="RGB").save(buf, format=fmt)
    return buf.getvalue()


def _tif_bytes(x: np.ndarray, crs: str | None = None, transform=None) -> bytes:
    import rasterio
    from rasterio.io import MemoryFile

    profile = {"driver": "GTiff", "width": x.shape[2], "height": x.shape[1], "count": x.shape[0], "dtype": str(x.dtype)}
    if crs:
        profile.update(crs=crs, transform=transform)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(x)
        return mem.read()


def rgb_folder_files(entry, per_class: int, size: int = 32, fmt: str = "JPEG", seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    ext = {"JPEG": "jpg", "TIFF": "tif", "PNG": "png"}[fmt]
    return {
        f"{entry.layout}/{cls}/{cls}_{i + 1:03d}.{ext}": _rgb_bytes(rng, size, fmt, k)
        for k, cls in enumerate(entry.classes)
        for i in range(per_class)
    }


def eurosat_ms_files(entry, per_class: int) -> dict[str, bytes]:
    """Real EuroSAT-MS tiles (the repo's sample), first `per_class` per class by file name."""
    out = {}
    for cls in entry.classes:
        for path in sorted((SAMPLE_TILES / cls).glob("*.tif"))[:per_class]:
            out[f"{entry.layout}/{cls}/{path.name}"] = path.read_bytes()
    return out


def nasc_ms_files(entry, per_class: int, size: int = 16, seed: int = 1) -> dict[str, bytes]:
    """14-band uint16 tiles without georeferencing (NaSC-TG2 scenes carry none)."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return {
            f"{entry.layout}/{cls}/{cls}_{i + 1}.tif": _tif_bytes(
                rng.integers(100, 4000, (14, size, size), dtype=np.uint16)
            )
            for cls in entry.classes
            for i in range(per_class)
        }


# Synthetic material (ackd_bench.data.sources.synthetic spectra) drawn for each CORINE label of the fixture.
BEN_MATERIAL = {
    "Broad-leaved forest": "Forest",
    "Coniferous forest": "Forest",
    "Mixed forest": "Forest",
    "Non-irrigated arable land": "Crops",
    "Permanently irrigated land": "Crops",
    "Rice fields": "Crops",
    "Complex cultivation patterns": "Crops",
    "Vineyards": "Crops",
    "Fruit trees and berry plantations": "Crops",
    "Olive groves": "Crops",
    "Annual crops associated with permanent crops": "Crops",
    "Transitional woodland/shrub": "Grass",
    "Moors and heathland": "Grass",
    "Sclerophyllous vegetation": "Grass",
    "Pastures": "Grass",
    "Natural grassland": "Grass",
    "Sport and leisure facilities": "Grass",
    "Water bodies": "Water",
    "Water courses": "Water",
    "Sea and ocean": "Water",
    "Beaches, dunes, sands": "BareSoil",
    "Industrial or commercial units": "BuiltUp",
    "Port areas": "BuiltUp",
    "Continuous urban fabric": "BuiltUp",
    "Road and rail networks and associated land": "Road",
    "Airports": "Road",
}


def bigearthnet_plan(per_label: int = 3) -> list[list[str]]:
    """`per_label` single-label patches for every label in BEN_MATERIAL, then a few two-label patches."""
    labels = list(BEN_MATERIAL)
    plan = [[c] for c in labels for _ in range(per_label)]
    plan += [
        ["Coniferous forest", "Water courses"],
        ["Pastures", "Road and rail networks and associated land"],
        ["Continuous urban fabric", "Industrial or commercial units"],
    ]
    return plan


def bigearthnet_files(entry, plan: list[list[str]], size: int = 60, seed: int = 2) -> dict[str, bytes]:
    """v1.0 layout: one folder per patch with 12 band GeoTIFFs (UTM 34N; 10/20/60 m grids of a `size` px
    10 m patch) drawn from the first label's synthetic spectrum, + `<patch>_labels_metadata.json`."""
    from affine import Affine

    from ackd_bench.data.bands import EUROSAT_ORDER
    from ackd_bench.data.sources.synthetic import generate_ms, to_uint16

    out = {}
    for k, labels in enumerate(plan):
        patch = f"S2A_MSIL1C_20170613T101031_{k // 10}_{k % 10}"
        tile = to_uint16(generate_ms(seed, patch, BEN_MATERIAL[labels[0]], size, EUROSAT_ORDER))
        left, top = 500000.0 + 10.0 * size * (k % 10), 6000000.0 - 10.0 * size * (k // 10)
        for band, px in BEN_BANDS.items():
            f = 120 // px  # 1, 2 or 6: the 10, 20 and 60 m grids
            x = tile[EUROSAT_ORDER.index(band)].astype(np.float64)
            x = np.rint(x.reshape(size // f, f, size // f, f).mean(axis=(1, 3))).astype(np.uint16)[None]
            res = 10.0 * f
            out[f"{entry.layout}/{patch}/{patch}_{band}.tif"] = _tif_bytes(
                x, "EPSG:32634", Affine(res, 0.0, left, 0.0, -res, top)
            )
        meta = {
            "labels": labels,
            "coordinates": {"ulx": left, "uly": top, "lrx": left + 10 * size, "lry": top - 10 * size},
            "projection": "EPSG:32634",
            "tile_source": "S2A_MSIL1C_20170613T101031_N0205_R022_T34VFN_20170613T101031",
            "acquisition_date": "2017-06-13 10:10:31",
        }
        out[f"{entry.layout}/{patch}/{patch}_labels_metadata.json"] = json.dumps(meta).encode()
    return out


def build_archives(out: Path, per_class: int = 5) -> dict[str, Path]:
    """Every entry's fixture archive under `out` (archive file name = the entry's), keyed by entry name."""
    from ackd_bench.data.downloads import get_entry

    out = Path(out)
    e = get_entry
    files = {
        "eurosat-ms": eurosat_ms_files(e("eurosat-ms"), per_class),
        "eurosat-rgb": rgb_folder_files(e("eurosat-rgb"), per_class, 64),
        "ucmerced": rgb_folder_files(e("ucmerced"), per_class, 32, "TIFF"),
        "nwpu-resisc45": rgb_folder_files(e("nwpu-resisc45"), per_class),
        "aid": rgb_folder_files(e("aid"), per_class),
        "nasc-tg2-rgb": rgb_folder_files(e("nasc-tg2-rgb"), per_class),
        "nasc-tg2-ms": nasc_ms_files(e("nasc-tg2-ms"), per_class),
        "bigearthnet-s2": bigearthnet_files(e("bigearthnet-s2"), bigearthnet_plan(3)),
    }
    paths = {}
    for name, content in files.items():
        archive = out / e(name).archive
        paths[name] = _tar(archive, content) if archive.name.endswith((".tar.gz", ".tgz")) else _zip(archive, content)
    return paths


def unsafe_archives(out: Path) -> dict[str, Path]:
    """Archives that must be refused: '..' member, absolute path, symlink (zip and tar), hard link."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "dotdot.zip": _zip(out / "dotdot.zip", {"AID/Forest/a.jpg": b"x", "AID/../../evil.txt": b"pwned"}),
        "absolute.tar.gz": _tar(out / "absolute.tar.gz", {"/tmp/ackd-evil.txt": b"pwned"}),
    }
    with zipfile.ZipFile(out / "symlink.zip", "w") as zf:
        info = zipfile.ZipInfo("AID/Forest/link.jpg", FIXED_TIME)
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    paths["symlink.zip"] = out / "symlink.zip"
    for kind, name in ((tarfile.SYMTYPE, "symlink.tar.gz"), (tarfile.LNKTYPE, "hardlink.tar.gz")):
        with tarfile.open(out / name, "w:gz") as tf:
            info = tarfile.TarInfo("AID/Forest/link.jpg")
            info.type, info.linkname = kind, "/etc/passwd"
            tf.addfile(info)
        paths[name] = out / name
    return paths


def catalog(paths: dict[str, Path], base_url: str) -> dict[str, dict]:
    """A `$ACKD_BENCH_DOWNLOAD_CATALOG` body pointing every entry at `base_url/<archive>` with its sha256."""
    from ackd_bench.io import sha256_file

    return {
        name: {
            "urls": [f"{base_url}/{p.name}"],
            "checksum": f"sha256:{sha256_file(p)}",
            "size_bytes": p.stat().st_size,
            "extracted_bytes": 4 * p.stat().st_size,
        }
        for name, p in paths.items()
    }


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "download-fixtures")
    built = build_archives(target)
    unsafe_archives(target / "unsafe")
    print(json.dumps(catalog(built, "http://127.0.0.1:PORT"), indent=2))
