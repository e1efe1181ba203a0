"""Source registry, eurosat-ms and eurosat-rgb-render on the real EuroSAT-200 sample and on bad files."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from ackd_bench.data.bands import EUROSAT_ORDER
from ackd_bench.data.render import render_rgb
from ackd_bench.data.sources import SOURCES, RawSample, Source
from ackd_bench.errors import ConfigError, DataError

EUROPE = box(-11.0, 34.0, 35.0, 72.0)


@pytest.fixture(scope="module")
def ms_source(eurosat200):
    return SOURCES.get("eurosat-ms")(eurosat200)


@pytest.fixture(scope="module")
def ms_samples(ms_source):
    return ms_source.scan()


@pytest.fixture(scope="module")
def small_root(eurosat200, tmp_path_factory) -> Path:
    """Three real tiles of each of three classes (a copy, so scans stay fast)."""
    root = tmp_path_factory.mktemp("eurosat9")
    for cls in ("Forest", "Highway", "River"):
        (root / cls).mkdir()
        for f in sorted((eurosat200 / cls).glob("*.tif"))[:3]:
            shutil.copy(f, root / cls / f.name)
    return root


def test_registry_lists_all_sources():
    assert SOURCES.names() == sorted(
        [
            "bigearthnet-s2",
            "eurosat-ms",
            "eurosat-rgb-render",
            "imagefolder-rgb",
            "multiband-tif",
            "multilabel-tif",
            "s2-scene",
            "synthetic",
        ]
    )
    for name in SOURCES.names():
        cls = SOURCES.get(name)
        assert issubclass(cls, Source) and cls.name == name and cls.modality in ("ms", "rgb")


def test_unknown_option_and_band_are_config_errors(eurosat200):
    with pytest.raises(ConfigError, match="unknown option"):
        SOURCES.get("eurosat-ms")(eurosat200, colour="red")
    with pytest.raises(ConfigError, match="B99"):
        SOURCES.get("eurosat-ms")(eurosat200, bands=("B02", "B99"))


def test_eurosat_ms_scan_real(ms_samples):
    assert len(ms_samples) == 200
    classes = sorted({s.class_name for s in ms_samples})
    assert len(classes) == 10 and all(sum(s.class_name == c for s in ms_samples) == 20 for c in classes)
    assert ms_samples == sorted(ms_samples, key=lambda s: (s.class_name, s.sample_id))
    assert len({s.sample_id for s in ms_samples}) == 200
    assert len({s.crs for s in ms_samples}) == 8
    for s in ms_samples:
        assert s.source == "eurosat-ms" and s.bands == EUROSAT_ORDER and (s.height, s.width) == (64, 64)
        assert s.crs.startswith("EPSG:326") and s.region == s.crs[5:]
        assert s.path == f"{s.class_name}/{s.sample_id}.tif"
        assert EUROPE.contains(s.footprint)
        # a 640 m tile: about 0.0058 degrees of latitude tall
        lon0, lat0, lon1, lat1 = s.footprint.bounds
        assert 0.005 < lat1 - lat0 < 0.0065


def test_eurosat_ms_band_order_sanity(ms_source, ms_samples):
    """B10 (cirrus) is far below the other bands; NIR B08 > red B04 on vegetation."""
    means = {}
    for cls in ("Forest", "Pasture", "AnnualCrop"):
        tiles = [ms_source.read(s) for s in ms_samples if s.class_name == cls][:6]
        arr = np.stack(tiles)
        assert arr.dtype == np.uint16 and arr.shape == (6, 13, 64, 64)
        means[cls] = arr.astype(float).mean(axis=(0, 2, 3))
    b = {name: i for i, name in enumerate(EUROSAT_ORDER)}
    for cls, m in means.items():
        assert m[b["B10"]] * 10 < min(np.delete(m, b["B10"])), cls
    for cls in ("Forest", "Pasture"):
        assert means[cls][b["B08"]] > 1.5 * means[cls][b["B04"]]
        assert abs(means[cls][b["B8A"]] - means[cls][b["B08"]]) < 0.3 * means[cls][b["B08"]]


def test_eurosat_ms_band_selection_by_name(small_root):
    sub = SOURCES.get("eurosat-ms")(small_root, bands=("B8A", "B04"))
    s = sub.scan()[0]
    assert s.bands == ("B8A", "B04")
    full = SOURCES.get("eurosat-ms")(small_root).read(dataclasses.replace(s, bands=EUROSAT_ORDER))
    np.testing.assert_array_equal(sub.read(s), full[[12, 3]])


def test_nested_archive_layout(eurosat200, tmp_path):
    for nested in ("EuroSAT_MS", "ds/images/remote_sensing/otherDatasets/sentinel_2/tif"):
        root = tmp_path / nested.replace("/", "_") / "extracted"
        for cls in ("Forest", "River"):
            dst = root / nested / cls
            dst.mkdir(parents=True)
            for f in sorted((eurosat200 / cls).glob("*.tif"))[:2]:
                shutil.copy(f, dst / f.name)
        src = SOURCES.get("eurosat-ms")(root)
        samples = src.scan()
        assert [s.class_name for s in samples] == ["Forest", "Forest", "River", "River"]
        assert samples[0].path.startswith(nested + "/Forest/")
        assert src.read(samples[0]).shape == (13, 64, 64)


def _copy_class(eurosat200: Path, root: Path, n: int = 2) -> Path:
    dst = root / "Forest"
    dst.mkdir(parents=True)
    for f in sorted((eurosat200 / "Forest").glob("*.tif"))[:n]:
        shutil.copy(f, dst / f.name)
    return dst


def _write_tif(path: Path, arr: np.ndarray, nodata=None) -> None:
    profile = dict(
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=arr.dtype.name,
        crs="EPSG:32631",
        transform=Affine(10, 0, 5e5, 0, -10, 5e6),
    )
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(arr)


def _scan_and_read(root: Path) -> None:
    src = SOURCES.get("eurosat-ms")(root)
    for s in src.scan():
        src.read(s)


@pytest.mark.parametrize(
    "kind, problem",
    [
        ("corrupt", "cannot open"),
        ("truncated", "cannot"),
        ("bands", "expected 13 bands, found 12"),
        ("dtype", "expected dtype uint16, found float32"),
        ("zeros", "all-nodata"),
        ("nodata", "all-nodata"),
    ],
)
def test_bad_geotiffs_raise_dataerror_naming_file(eurosat200, tmp_path, kind, problem):
    dst = _copy_class(eurosat200, tmp_path)
    bad = dst / "Forest_bad.tif"
    if kind == "corrupt":
        bad.write_bytes(b"II*\x00 this is not a tiff" * 10)
    elif kind == "truncated":
        data = (eurosat200 / "Forest" / "Forest_1.tif").read_bytes()
        bad.write_bytes(data[: len(data) // 3])
    elif kind == "bands":
        _write_tif(bad, np.full((12, 8, 8), 100, np.uint16))
    elif kind == "dtype":
        _write_tif(bad, np.full((13, 8, 8), 100, np.float32))
    elif kind == "zeros":
        _write_tif(bad, np.zeros((13, 8, 8), np.uint16))
    else:
        _write_tif(bad, np.full((13, 8, 8), 7, np.uint16), nodata=7)
    with pytest.raises(DataError) as err:
        _scan_and_read(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and str(bad) in msg and problem in msg


def test_empty_class_folder(eurosat200, tmp_path):
    _copy_class(eurosat200, tmp_path)
    (tmp_path / "Empty").mkdir()
    with pytest.raises(DataError, match="Empty: empty class folder"):
        SOURCES.get("eurosat-ms")(tmp_path).scan()


def test_no_class_folders(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="no class folders"):
        SOURCES.get("eurosat-ms")(tmp_path).scan()


def test_rgb_render_pairs_and_footprints(small_root):
    src = SOURCES.get("eurosat-rgb-render")(small_root)
    ms_source = SOURCES.get("eurosat-ms")(small_root)
    assert src.modality == "rgb"
    rgb = src.scan()
    assert len(rgb) == 9 and len({s.sample_id for s in rgb}) == 9
    by_id = {s.sample_id: s for s in ms_source.scan()}
    for s in rgb:
        t = by_id[s.extra["rendered_from"]]
        assert s.footprint.equals(t.footprint) and s.region == t.region and s.class_name == t.class_name
        img = src.read(s)
        assert img.dtype == np.uint8 and img.shape == (3, 64, 64)
        ms = ms_source.read(t)
        expected = np.rint(np.clip(ms[[3, 2, 1]].astype(np.float64) / 3000, 0, 1) * 255).astype(np.uint8)
        np.testing.assert_array_equal(img, expected)
        np.testing.assert_array_equal(img, render_rgb(ms, EUROSAT_ORDER))


def test_rgb_render_resizes_to_size(small_root):
    src = SOURCES.get("eurosat-rgb-render")(small_root, size=32)
    s = src.scan()[0]
    assert (s.height, s.width) == (32, 32) and src.read(s).shape == (3, 32, 32)


def test_raw_sample_is_frozen():
    s = RawSample("a", "c", "", "synthetic", "r", 1, 1, ("R", "G", "B"))
    with pytest.raises(AttributeError):
        s.sample_id = "b"  # type: ignore[misc]
    assert s.crs is None and s.footprint is None and s.extra == {}
