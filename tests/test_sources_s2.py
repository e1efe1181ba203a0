"""s2-scene on the two real Boadella scenes with label polygons written by the test."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine
from shapely.geometry import box

from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources.s2_scene import S2_NO_B10
from ackd_bench.errors import ConfigError, DataError

SCENE = "Boadella_2020-01-13.tif"


def _xy(transform: Affine, col: float, row: float) -> tuple[float, float]:
    return transform.c + col * transform.a, transform.f + row * transform.e


def _write_labels(scene: Path, out: Path) -> Path:
    """Water over pixel columns [-5, 160) x rows [-5, 256); Forest over columns [160, 500) x all rows.

    With 64-pixel patches (5 x 5 in the 380 x 377 scene): Water = columns 0-1, rows 0-3 (8 patches);
    columns 0-1 of row 4 unlabelled (2); column 2 mixed (Water+Forest in rows 0-3, part Forest in row 4: 5);
    columns 3-4 Forest (10).
    """
    with rasterio.open(scene) as ds:
        t = ds.transform
    (ax0, ay0), (ax1, ay1) = _xy(t, -5, -5), _xy(t, 160, 256)
    (bx0, by0), (bx1, by1) = _xy(t, 160, -5), _xy(t, 500, 500)
    gdf = gpd.GeoDataFrame(
        {"landcover": ["Water", "Forest"]},
        geometry=[box(ax0, ay1, ax1, ay0), box(bx0, by1, bx1, by0)],
        crs="EPSG:4326",
    )
    path = out / "labels.gpkg"
    gdf.to_file(path)
    return path


@pytest.fixture()
def labels(s2_scenes, tmp_path) -> Path:
    return _write_labels(s2_scenes / SCENE, tmp_path)


def test_multiband_scene_patches(s2_scenes, labels):
    src = SOURCES.get("s2-scene")(s2_scenes / SCENE, labels=labels, class_column="landcover")
    samples = src.scan()
    assert [s.class_name for s in samples].count("Water") == 8
    assert [s.class_name for s in samples].count("Forest") == 10
    assert src.skipped == {"mixed": 5, "unlabelled": 2, "nodata": 0}
    ids = {s.sample_id for s in samples}
    assert "Boadella_2020-01-13_r0_c0" in ids and "Boadella_2020-01-13_r4_c4" in ids
    assert not any(s.sample_id.endswith(("_c2",)) for s in samples)  # mixed column
    assert "Boadella_2020-01-13_r4_c0" not in ids  # unlabelled
    s = next(x for x in samples if x.sample_id == "Boadella_2020-01-13_r1_c3")
    assert s.path == "" and s.region == "Boadella_2020-01-13" and s.crs == "EPSG:4326" and s.bands == S2_NO_B10
    with rasterio.open(s2_scenes / SCENE) as ds:
        full = ds.read()
        x0, y1 = _xy(ds.transform, 192, 64)
        x1, y0 = _xy(ds.transform, 256, 128)
    np.testing.assert_allclose(s.footprint.bounds, (x0, y0, x1, y1))
    arr = src.read(s)
    assert arr.dtype == np.int16 and arr.shape == (12, 64, 64)
    np.testing.assert_array_equal(arr, full[:, 64:128, 192:256])


def test_folder_of_scenes_and_band_selection(s2_scenes, labels):
    src = SOURCES.get("s2-scene")(s2_scenes, labels=labels, class_column="landcover", bands=("B08", "B04"), patch=128)
    samples = src.scan()
    # 128-pixel patches: 2 x 2 per scene; column 0 Water (rows end at 256), column 1 (pixels 128-255) mixed
    assert {s.region for s in samples} == {"Boadella_2020-01-13", "Boadella_2020-01-28"}
    assert all(s.bands == ("B08", "B04") for s in samples)
    assert [s.class_name for s in samples] == ["Water"] * 4
    assert src.skipped == {"mixed": 4, "unlabelled": 0, "nodata": 0}
    arr = src.read(samples[0])
    assert arr.shape == (2, 128, 128)


def test_per_band_files_resampled_to_10m(s2_scenes, labels, tmp_path):
    """10 m bands written as-is; 20 m bands written at half resolution (2x2 means) and resampled back."""
    with rasterio.open(s2_scenes / SCENE) as ds:
        full, t, crs = ds.read(), ds.transform, ds.crs
    folder = tmp_path / "bands"
    folder.mkdir()
    idx = {b: i for i, b in enumerate(S2_NO_B10)}
    for band in ("B02", "B03", "B04", "B08"):
        arr = full[idx[band]][None]
        _write(folder / f"T31_{band}.tif", arr, t, crs)
    for band in ("B05", "B11"):
        a = full[idx[band]][:376, :380].astype(np.float32)
        coarse = a.reshape(188, 2, 190, 2).mean(axis=(1, 3)).round().astype(np.int16)[None]
        _write(folder / f"T31_{band}.tif", coarse, t @ Affine.scale(2), crs)
    src = SOURCES.get("s2-scene")(folder, labels=labels, class_column="landcover")
    samples = src.scan()
    assert len(samples) == 18 and src.skipped["mixed"] == 5
    assert samples[0].bands == ("B02", "B03", "B04", "B05", "B08", "B11")
    s = next(x for x in samples if x.sample_id == "T31_r1_c3")
    arr = src.read(s)
    assert arr.shape == (6, 64, 64) and arr.dtype == np.int16
    np.testing.assert_array_equal(arr[2], full[idx["B04"], 64:128, 192:256])
    orig = full[idx["B11"], 64:128, 192:256].astype(float)
    res = arr[5].astype(float)
    assert np.corrcoef(orig.ravel(), res.ravel())[0, 1] > 0.8
    assert abs(res.mean() - orig.mean()) < 0.05 * orig.mean()


def _write(path: Path, arr: np.ndarray, transform, crs) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=1,
        dtype=arr.dtype.name,
        crs=crs,
        transform=transform,
    ) as ds:
        ds.write(arr)


def test_label_errors(s2_scenes, labels, tmp_path):
    with pytest.raises(ConfigError, match="labels"):
        SOURCES.get("s2-scene")(s2_scenes / SCENE)
    with pytest.raises(DataError, match="no class column 'class'") as err:
        SOURCES.get("s2-scene")(s2_scenes / SCENE, labels=labels).scan()
    assert str(labels) in str(err.value)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    with pytest.raises(DataError, match="cannot read label polygons") as err:
        SOURCES.get("s2-scene")(s2_scenes / SCENE, labels=broken).scan()
    assert str(broken) in str(err.value)


def test_band_names_must_match_count(s2_scenes, labels):
    with pytest.raises(DataError, match="has 12 bands but band_names lists 13"):
        SOURCES.get("s2-scene")(s2_scenes / SCENE, labels=labels, class_column="landcover", band_names="all13").scan()


def test_nodata_patches_are_skipped(s2_scenes, labels, tmp_path):
    """A copy of the real scene with the top-left 128 x 128 pixels set to 0: 4 Water patches become nodata."""
    with rasterio.open(s2_scenes / SCENE) as ds:
        arr, profile = ds.read(), ds.profile
    arr[:, :128, :128] = 0
    scene = tmp_path / "holed.tif"
    with rasterio.open(scene, "w", **profile) as out:
        out.write(arr)
    src = SOURCES.get("s2-scene")(scene, labels=labels, class_column="landcover")
    samples = src.scan()
    assert src.skipped == {"mixed": 5, "unlabelled": 2, "nodata": 4}
    assert [s.class_name for s in samples].count("Water") == 4
