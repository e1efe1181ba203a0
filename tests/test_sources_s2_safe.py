"""s2-scene on Sentinel-2 .SAFE products (JPEG 2000) written by tests/data/s2safe/data.py from a real scene."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from shapely.geometry import box

from ackd_bench.cli import cli
from ackd_bench.data import raster, s2_safe
from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources import s2_scene as s2_scene_module
from ackd_bench.errors import DataError

REPO = Path(__file__).resolve().parents[1]
PATCH = 32
PRODUCTS = {
    "l1c_old": ("L1C", "02.08"),
    "l1c_new": ("L1C", "04.00"),
    "l2a_old": ("L2A", "02.14"),
    "l2a_new": ("L2A", "04.00"),
}


def _fixture_module():
    spec = importlib.util.spec_from_file_location("s2safe_data", REPO / "tests" / "data" / "s2safe" / "data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def products(tmp_path_factory, s2_scenes) -> dict[str, Path]:
    mod = _fixture_module()
    out = tmp_path_factory.mktemp("safe")
    return {key: mod.make_product(out / key, level, baseline) for key, (level, baseline) in PRODUCTS.items()}


@pytest.fixture(scope="module")
def labels(products, tmp_path_factory) -> Path:
    """Water over pixel columns [-5, 160), Forest over [160, 400): with 32-pixel patches, columns 0-4
    Water and 5-10 Forest (11 x 11 patches in the 360 x 360 tile, no mixed patch)."""
    f = next((products["l1c_old"] / "GRANULE").glob("*/IMG_DATA/*_B02.jp2"))
    with rasterio.open(f) as ds:
        t = ds.transform

    def xy(col, row):
        return t.c + col * t.a, t.f + row * t.e

    (ax0, ay0), (ax1, ay1) = xy(-5, -5), xy(160, 400)
    (bx0, by0), (bx1, by1) = xy(160, -5), xy(400, 400)
    gdf = gpd.GeoDataFrame(
        {"class": ["Water", "Forest"]}, geometry=[box(ax0, ay1, ax1, ay0), box(bx0, by1, bx1, by0)], crs="EPSG:32631"
    )
    path = tmp_path_factory.mktemp("labels") / "labels.gpkg"
    gdf.to_file(path)
    return path


def _source(root: Path, labels: Path, **kw):
    return SOURCES.get("s2-scene")(root, labels=labels, patch=PATCH, **kw)


def _tiles(src, samples) -> np.ndarray:
    out = [None] * len(samples)
    for i, x in src.read_many(samples):
        out[i] = x
    return np.stack(out)


def test_l1c_and_l2a_layouts(products, labels, s2_scenes):
    for key in PRODUCTS:
        src = _source(products[key], labels)
        samples = src.scan()
        assert len(samples) == 121 and src.skipped == {"mixed": 0, "unlabelled": 0, "nodata": 0}
        assert [s.class_name for s in samples].count("Water") == 55
        assert {s.crs for s in samples} == {"EPSG:32631"}
        scene = src._scene(samples[0].extra["scene"])
        assert scene.name == products[key].name[: -len(".SAFE")]
        assert len(scene.bands) == 12 and "B10" not in scene.bands
    l2a = _source(products["l2a_new"], labels)
    scene = next(iter(s for s in l2a._discover()))
    # the finest resolution present per band: B02 at 10 m, B01 at 20 m (sen2cor upsamples it), B09 at 60 m; SCL skipped
    assert scene.files["B02"].parent.name == "R10m" and scene.files["B02"].name.endswith("_B02_10m.jp2")
    assert scene.files["B01"].parent.name == "R20m" and scene.files["B09"].parent.name == "R60m"
    assert scene.grid.transform.a == 10.0
    # the 10 m bands are the real scene's pixels, read back from JPEG 2000 losslessly
    src = _source(products["l1c_old"], labels, bands=("B04", "B08"))
    s = next(x for x in src.scan() if x.sample_id.endswith("_r1_c3"))
    with rasterio.open(s2_scenes / "Boadella_2020-01-13.tif") as ds:
        real = ds.read([4, 8])
    np.testing.assert_array_equal(src.read(s), real[:, 32:64, 96:128].astype(np.uint16))


def test_offset_makes_old_and_new_baselines_identical(products, labels):
    """Baseline 04.00 stores DN + 1000 with a -1000 offset in its metadata: after the offset the tiles equal
    those of the older baseline, band for band, and the card records what was applied."""
    for old, new in (("l1c_old", "l1c_new"), ("l2a_old", "l2a_new")):
        a_src, b_src = _source(products[old], labels), _source(products[new], labels)
        a, b = a_src.scan(), b_src.scan()
        assert [s.sample_id.split("_r")[-1] for s in a] == [s.sample_id.split("_r")[-1] for s in b]
        np.testing.assert_array_equal(_tiles(a_src, a), _tiles(b_src, b))
        raw = rasterio.open(b_src._scene(b[0].extra["scene"]).files["B04"]).read(1)
        assert raw.mean() > _tiles(b_src, b)[:, 3].mean() + 900  # the stored DNs really are shifted
        det_new = b_src.card_details()["radiometry"]
        info = next(iter(det_new["scenes"].values()))
        assert info["processing_baseline"] == "04.00" and info["offsets_applied"]["B04"] == -1000
        assert set(info["offsets_applied"]) == set(b[0].bands)
        assert info["level"] == PRODUCTS[new][0] and info["quantification_value"] == 10000.0
        info_old = next(iter(a_src.card_details()["radiometry"]["scenes"].values()))
        assert info_old["processing_baseline"] == PRODUCTS[old][1] and info_old["offsets_applied"] == {}


def test_harmonise_keeps_nodata_and_clips_dark_pixels():
    dn = np.array([0, 1, 999, 1000, 1001, 5000, 65535], dtype=np.uint16)
    np.testing.assert_array_equal(s2_safe.harmonise(dn, -1000), [0, 1, 1, 1, 1, 4000, 64535])
    assert s2_safe.harmonise(dn, 0) is dn


def test_block_reader_equals_per_patch_reader(products, labels, monkeypatch):
    """read_many (one read per band and block) gives the same arrays as read (one patch); small blocks too."""
    src = _source(products["l2a_new"], labels)
    samples = src.scan()
    single = np.stack([src.read(s) for s in samples])
    np.testing.assert_array_equal(_tiles(src, samples), single)
    monkeypatch.setattr(s2_scene_module, "BLOCK_ROWS", 70)  # 2 patch rows per block, blocks in any order
    rev = samples[::-1]
    np.testing.assert_array_equal(_tiles(src, rev), single[::-1])


def test_bilinear_window_does_not_depend_on_the_window():
    rng = np.random.default_rng(0)
    coarse = rng.integers(1, 10000, (40, 50)).astype(np.uint16)

    def read(r0, r1, c0, c1):
        return coarse[r0:r1, c0:c1]

    for k, off in ((2, (0, 0)), (6, (3, 1))):
        grid = raster.AlignedGrid(k, off[0], off[1], 40, 50)
        h, w = 40 * k - off[0], 50 * k - off[1]
        full = raster.bilinear_window(read, grid, 0, 0, h, w, np.uint16)
        for r0, c0, hh, ww in ((0, 0, 7, 9), (5, 13, 32, 32), (h - 11, w - 3, 11, 3), (17, 1, 1, 1)):
            np.testing.assert_array_equal(
                raster.bilinear_window(read, grid, r0, c0, hh, ww, np.uint16), full[r0 : r0 + hh, c0 : c0 + ww]
            )
    # a 2x upsampling of a linear ramp is the ramp at the finer centres
    ramp = np.tile(np.arange(0, 1000, 100, dtype=np.float64), (4, 1))
    up = raster.bilinear_window(
        lambda r0, r1, c0, c1: ramp[r0:r1, c0:c1], raster.AlignedGrid(2, 0, 0, 4, 10), 0, 2, 1, 16, np.float64
    )
    np.testing.assert_allclose(up[0], 75 + 50 * np.arange(16))


def test_build_dataset_from_safe_products(products, labels, tmp_path):
    """build-dataset with s2-scene over a folder holding an L1C (04.00) and an L2A (02.14) product."""
    from PIL import Image

    root = tmp_path / "products"
    root.mkdir()
    for key in ("l1c_new", "l2a_old"):
        shutil.copytree(products[key], root / products[key].name)
    rgb = tmp_path / "rgb"
    rng = np.random.default_rng(0)
    for cls, colour in (("Water", (20, 40, 120)), ("Forest", (30, 90, 30))):
        (rgb / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.clip(np.array(colour) + rng.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)).save(
                rgb / cls / f"{cls}{i}.png"
            )
    out = tmp_path / "bench"
    res = CliRunner().invoke(
        cli,
        [
            "build-dataset",
            "--teacher",
            f"s2-scene:{root}",
            "--student",
            f"imagefolder-rgb:{rgb}",
            "--teacher-option",
            f"labels={labels}",
            "--teacher-option",
            f"patch={PATCH}",
            "--size",
            "32",
            "--out",
            str(out),
            "--quiet",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    bench = Benchmark.open(out)
    t = bench.manifest("teacher")
    assert len(t) == 242 and set(t.crs) == {"EPSG:32631"} and t.region.nunique() == 2
    card = json.loads((out / "benchmark.json").read_text())
    scenes = card["sources"]["teacher"]["details"]["radiometry"]["scenes"]
    assert {v["level"]: v["processing_baseline"] for v in scenes.values()} == {"L1C": "04.00", "L2A": "02.14"}
    assert {v["level"]: v["offsets_applied"].get("B02") for v in scenes.values()} == {"L1C": -1000, "L2A": None}
    # the packed teacher tiles are what the source reads (block reader) for the same ids
    x = bench.load_arrays("teacher", "train")
    src = _source(root, labels)
    by_id = {s.sample_id: s for s in src.scan()}
    want = _tiles(src, [by_id[i] for i in x.sample_ids[:20]])
    idx = [list(src._scene(by_id[x.sample_ids[0]].extra["scene"]).bands).index(b) for b in x.bands]
    np.testing.assert_array_equal(np.asarray(x.x[:20]), want[:, idx])


def test_safe_metadata_errors(products, labels, tmp_path):
    bad = tmp_path / products["l1c_new"].name
    shutil.copytree(products["l1c_new"], bad)
    (bad / "MTD_MSIL1C.xml").unlink()
    with pytest.raises(DataError, match="no product metadata") as err:
        _source(bad, labels).scan()
    assert str(bad) in str(err.value)
    xml = _fixture_module().metadata_xml("L2A", "04.00", None)  # new baseline without its offsets
    bad2 = tmp_path / products["l2a_new"].name
    shutil.copytree(products["l2a_new"], bad2)
    (bad2 / "MTD_MSIL2A.xml").write_text(xml)
    with pytest.raises(DataError, match="processing baseline 04.00 but no BOA_ADD_OFFSET"):
        _source(bad2, labels).scan()
    (bad2 / "MTD_MSIL2A.xml").write_text("<not xml")
    with pytest.raises(DataError, match="unreadable product metadata"):
        _source(bad2, labels).scan()
