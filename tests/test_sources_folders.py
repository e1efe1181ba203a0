"""imagefolder-rgb and multiband-tif on the committed fixtures (tests/data/*/data.py) and bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ackd_bench.data.sources import SOURCES
from ackd_bench.errors import ConfigError, DataError

DATA = Path(__file__).parent / "data"
IMAGES = DATA / "imagefolder" / "images"
TILES = DATA / "multiband" / "tiles"
NASC_BANDS = ",".join(f"b{i:02d}" for i in range(1, 15))


def test_imagefolder_scan_and_resize():
    src = SOURCES.get("imagefolder-rgb")(IMAGES, size=48)
    samples = src.scan()
    assert src.modality == "rgb"
    assert [(s.class_name, s.path) for s in samples] == [
        ("Forest", "Forest/forest_a.jpg"),
        ("Forest", "Forest/forest_b.png"),
        ("Forest", "Forest/forest_c.tif"),
        ("River", "River/river_a.jpg"),
        ("River", "River/river_b.png"),
    ]
    assert {s.region for s in samples} == {"images"}
    assert all(s.footprint is None and s.crs is None and s.bands == ("R", "G", "B") for s in samples)
    sizes = {(s.extra["orig_width"], s.extra["orig_height"]) for s in samples}
    assert sizes == {(40, 40), (64, 64), (50, 47), (96, 96), (30, 36)}
    for s in samples:
        img = src.read(s)
        assert img.shape == (3, 48, 48) and img.dtype == np.uint8 and (s.height, s.width) == (48, 48)
    # the resize is Pillow's bilinear on the RGB image
    ref = Image.open(IMAGES / "River" / "river_a.jpg").convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(src.read(samples[3]), np.asarray(ref).transpose(2, 0, 1))


def test_imagefolder_region_option_and_nested_root(tmp_path):
    shutil.copytree(IMAGES, tmp_path / "NWPU-RESISC45" / "images")
    src = SOURCES.get("imagefolder-rgb")(tmp_path, region="nwpu")
    samples = src.scan()
    assert len(samples) == 5 and {s.region for s in samples} == {"nwpu"}
    assert samples[0].path == "NWPU-RESISC45/images/Forest/forest_a.jpg"
    assert src.read(samples[0]).shape == (3, 64, 64)


def test_imagefolder_converts_grey_and_rgba(tmp_path):
    (tmp_path / "A").mkdir()
    Image.new("L", (20, 10), 77).save(tmp_path / "A" / "grey.png")
    Image.new("RGBA", (10, 20), (10, 20, 30, 40)).save(tmp_path / "A" / "rgba.png")
    src = SOURCES.get("imagefolder-rgb")(tmp_path, size=8)
    grey, rgba = (src.read(s) for s in src.scan())
    assert (grey == 77).all() and rgba.shape == (3, 8, 8) and tuple(rgba[:, 0, 0]) == (10, 20, 30)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty"])
def test_imagefolder_bad_files(tmp_path, kind):
    shutil.copytree(IMAGES, tmp_path / "set")
    root = tmp_path / "set"
    if kind == "garbage":
        bad = root / "River" / "river_c.jpg"
        bad.write_bytes(b"not an image at all")
    elif kind == "truncated":
        bad = root / "River" / "river_c.png"
        data = (IMAGES / "Forest" / "forest_b.png").read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    else:
        bad = root / "Lake"
        bad.mkdir()
    src = SOURCES.get("imagefolder-rgb")(root)
    with pytest.raises(DataError) as err:
        for s in src.scan():
            src.read(s)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_multiband_tif_14_bands():
    src = SOURCES.get("multiband-tif")(TILES, band_names=NASC_BANDS)
    samples = src.scan()
    assert [s.class_name for s in samples] == ["Lake", "Lake", "Town", "Town"]
    assert samples[0].bands == tuple(NASC_BANDS.split(","))
    assert all(s.crs.startswith("EPSG:326") and s.region == s.crs[5:] and s.footprint is not None for s in samples)
    arr = src.read(samples[0])
    assert arr.shape == (14, 16, 16) and arr.dtype == np.uint16
    np.testing.assert_array_equal(arr[13], arr[:13].mean(0).astype(np.uint16))
    sub = SOURCES.get("multiband-tif")(TILES, band_names=NASC_BANDS.split(","), bands=("b14", "b01"), region="tg2")
    s = sub.scan()[0]
    assert s.region == "tg2"
    np.testing.assert_array_equal(sub.read(s), arr[[13, 0]])


def test_multiband_tif_band_count_mismatch():
    with pytest.raises(DataError, match="expected 13 bands, found 14") as err:
        SOURCES.get("multiband-tif")(TILES, band_names="all13").scan()
    assert str(TILES / "Lake" / "River_3.tif") in str(err.value)


def test_multiband_tif_needs_band_names():
    with pytest.raises(ConfigError, match="band_names"):
        SOURCES.get("multiband-tif")(TILES)


def test_sample_ids_unique_across_classes(tmp_path):
    for cls in ("A", "B"):
        (tmp_path / cls).mkdir()
        Image.new("RGB", (4, 4), 9).save(tmp_path / cls / "img 1.png")
    ids = [s.sample_id for s in SOURCES.get("imagefolder-rgb")(tmp_path).scan()]
    assert ids == ["A-img_1", "B-img_1"]
    Image.new("RGB", (4, 4), 9).save(tmp_path / "B" / "img 1.jpg")
    with pytest.raises(DataError, match="same sample id"):
        SOURCES.get("imagefolder-rgb")(tmp_path).scan()
