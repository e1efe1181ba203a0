"""Default preset from the shipped sample, determinism against the shipped card, generic route, synthetic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from ackd_bench.cli import cli
from ackd_bench.data.benchmark import Benchmark

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "datasets" / "eurosat-sample"


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_shipped_sample_matches_checksums():
    lines = (SAMPLE / "SHA256SUMS").read_text().splitlines()
    assert len(lines) == 200
    from ackd_bench.io import sha256_file

    for line in lines[::20]:
        digest, rel = line.split("  ", 1)
        assert sha256_file(SAMPLE / rel) == digest


def test_shipped_tiles_equal_shared_originals(eurosat200):
    import rasterio

    for cls in ("Pasture", "SeaLake"):
        for name in (f"{cls}_1.tif", f"{cls}_20.tif"):
            with rasterio.open(eurosat200 / cls / name) as a, rasterio.open(SAMPLE / "tiles" / cls / name) as b:
                assert np.array_equal(a.read(), b.read())
                assert a.crs == b.crs and a.transform == b.transform
                assert b.compression is not None


def test_default_preset_counts_and_splits(default_bench):
    card = json.loads((default_bench / "benchmark.json").read_text())
    assert card["name"] == "eurosat-sample" and len(card["classes"]) == 10
    for pool in ("teacher", "student"):
        for split, n in (("train", 6), ("val", 2), ("test", 2)):
            assert set(card["counts"][pool][split].values()) == {n}
    assert card["roots"] == {"teacher": "repo:datasets/eurosat-sample/tiles", "student": "bench:files/student"}
    assert card["loss_weights_default"] == {"w_ce": 0.3, "w_kd": 0.4, "w_ot": 0.003, "form": "official"}
    assert card["split"]["pool_rule"] == "region" and card["split"]["footprint_overlaps"] == 0
    assert "MIT" in card["licence"]["name"] and "Helber" in card["licence"]["attribution"]
    assert card["teacher_bands"] == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"]
    assert len(card["available_bands"]) == 13 and card["available_bands"][-1] == "B8A"


def test_region_split_is_geographic_and_disjoint(default_bench):
    import geopandas as gpd

    t = gpd.read_parquet(default_bench / "teacher.parquet")
    s = gpd.read_parquet(default_bench / "student.parquet")
    assert t.crs.to_epsg() == 4326 and s.crs.to_epsg() == 4326
    assert len(t) == len(s) == 100
    # per class, every teacher tile lies west of every student tile's source tile
    for cls in t["class_name"].unique():
        tw = t[t.class_name == cls].geometry.apply(lambda g: g.centroid.x).max()
        se = s[s.class_name == cls].geometry.apply(lambda g: g.centroid.x).min()
        assert tw <= se, cls
    assert not (t.geometry.union_all().intersection(s.geometry.union_all()).area > 1e-14)
    assert not set(t["sha256"]) & set(s["sha256"])
    assert all(not p.startswith("/") and ".." not in p for p in pd.concat([t.path, s.path]))


def test_sckd_pairs_point_to_source_tiles(default_bench):
    bench = Benchmark.open(default_bench)
    pairs = bench.sckd_pairs
    s = bench.manifest("student")
    assert sorted(pairs.student_id) == sorted(s.sample_id)
    assert (pairs.student_id == pairs.teacher_id + "_rgb").all()
    assert not pairs.teacher_in_pool.any()  # ACKD: the paired tiles are in the student region
    ms = bench.load_sckd_teacher("val")
    rgb = bench.load_arrays("student", "val")
    from ackd_bench.data.render import render_rgb

    assert np.array_equal(render_rgb(np.asarray(ms.x), ms.bands), rgb.x)


def test_rebuild_is_byte_identical_to_shipped_card(default_bench):
    card = json.loads((default_bench / "benchmark.json").read_text())
    shipped = json.loads((SAMPLE / "card.json").read_text())
    assert card["manifests_sha256"] == shipped["manifests_sha256"]
    assert card == shipped
    assert (default_bench / "benchmark.json").read_bytes() == (SAMPLE / "card.json").read_bytes()


def test_overwrite_replaces(default_bench, tmp_path):
    out = tmp_path / "b"
    shutil.copytree(default_bench, out)
    (out / "junk.txt").write_text("x")
    res = run_cli("build-dataset", "--preset", "synthetic-small", "--out", str(out), "--overwrite", "--quiet")
    assert res.exit_code == 0, res.output
    assert not (out / "junk.txt").exists()
    assert json.loads((out / "benchmark.json").read_text())["name"] == "synthetic-small"


def test_synthetic_small_matches_shipped_card(synthetic_small_bench):
    out = synthetic_small_bench  # built by `build-dataset --preset synthetic-small` (conftest.py)
    card = json.loads((out / "benchmark.json").read_text())
    assert card == json.loads((REPO / "datasets" / "synthetic-small" / "card.json").read_text())
    assert card["paired"] is False and not (out / "sckd_pairs.parquet").exists()
    assert card["roots"]["teacher"] == "bench:files/teacher"
    import rasterio

    t = Benchmark.open(out).manifest("teacher").iloc[0]
    with rasterio.open(out / "files" / "teacher" / t.path) as ds:
        assert ds.crs.to_string() == t.crs and ds.count == 13


def test_synthetic_paired(tmp_path):
    out = tmp_path / "syn"
    res = run_cli("build-dataset", "--preset", "synthetic-small-paired", "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    bench = Benchmark.open(out)
    assert bench.paired and bench.card["split"]["protocol"] == "sckd"
    pairs = bench.sckd_pairs.set_index("student_id")
    t = bench.manifest("teacher").set_index("sample_id")
    s = bench.manifest("student").set_index("sample_id")
    assert pairs.teacher_in_pool.all()
    assert (t.loc[pairs.teacher_id, "split"].to_numpy() == s.loc[pairs.index, "split"].to_numpy()).all()


def _write_imagefolder(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, colour in (
        ("woods", (30, 90, 30)),
        ("lake", (20, 40, 120)),
        ("factories", (150, 150, 150)),
        ("beach", (220, 200, 150)),
    ):
        (root / folder).mkdir(parents=True)
        for i in range(5):
            img = np.clip(np.array(colour) + rng.normal(0, 20, (40, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / folder / f"{folder}{i}.png")


def _mini_ms(root: Path, classes=("Forest", "Industrial", "SeaLake"), n: int = 6) -> Path:
    for cls in classes:
        (root / cls).mkdir(parents=True)
        for i in range(1, n + 1):
            shutil.copy(SAMPLE / "tiles" / cls / f"{cls}_{i}.tif", root / cls / f"{cls}_{i}.tif")
    return root


def test_generic_route_imagefolder_with_class_map(tmp_path):
    ms = _mini_ms(tmp_path / "ms")
    rgb = tmp_path / "rgb"
    _write_imagefolder(rgb)
    cmap = tmp_path / "map.yaml"
    cmap.write_text("woods: Forest\nlake: SeaLake\nfactories: Industrial\n")
    out = tmp_path / "bench"
    res = run_cli(
        "build-dataset",
        "--teacher",
        f"eurosat-ms:{ms}",
        "--student",
        f"imagefolder-rgb:{rgb}",
        "--class-map",
        str(cmap),
        "--size",
        "32",
        "--bands",
        "all13",
        "--out",
        str(out),
        "--quiet",
    )
    assert res.exit_code == 0, res.output
    bench = Benchmark.open(out)
    assert bench.classes == ["Forest", "Industrial", "SeaLake"] and bench.size == 32
    assert bench.card["dropped"] == {"student": {"beach": 5}, "teacher": {}}
    assert bench.card["split"]["pool_rule"] == "sources" and not bench.paired
    s = bench.manifest("student")
    assert set(s.source_class) == {"woods", "lake", "factories"} and len(s) == 15
    assert dict(zip(s.source_class, s.class_name))["woods"] == "Forest"
    assert bench.load_arrays("student", "train").x.shape[1:] == (3, 32, 32)
    assert len(bench.manifest("teacher")) == 18
    assert bench.card["sources"]["student"]["root"] == str(rgb)
