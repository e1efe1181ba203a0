"""Every bad input through the CLI: exit code 2, one `error:` line naming the file, no output left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ackd_bench.cli import cli

REPO = Path(__file__).resolve().parents[1]
TILES = REPO / "datasets" / "eurosat-sample" / "tiles"


@pytest.fixture
def ms(tmp_path) -> Path:
    root = tmp_path / "ms"
    for cls in ("Forest", "Industrial", "SeaLake"):
        (root / cls).mkdir(parents=True)
        for i in range(1, 7):
            shutil.copy(TILES / cls / f"{cls}_{i}.tif", root / cls / f"{cls}_{i}.tif")
    return root


def build(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "out" / "bench"
    res = CliRunner().invoke(cli, ["build-dataset", "--out", str(out), "--quiet", *args])
    return res.exit_code, res.stderr, out


def assert_failed(tmp_path: Path, code: int, err: str, out: Path, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert not out.exists()
    assert not list(out.parent.glob(".bench.*")) if out.parent.exists() else True


def render_args(ms: Path) -> list[str]:
    return ["--teacher", f"eurosat-ms:{ms}", "--student", f"eurosat-rgb-render:{ms}"]


def write_tif(path: Path, arr: np.ndarray) -> None:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        count=arr.shape[0],
        height=arr.shape[1],
        width=arr.shape[2],
        dtype=str(arr.dtype),
        crs="EPSG:32631",
        transform=from_origin(500000, 5000000, 10, 10),
    ) as ds:
        ds.write(arr)


def test_mini_build_succeeds(ms, tmp_path):
    code, err, out = build(tmp_path, *render_args(ms))
    assert code == 0, err
    assert (out / "benchmark.json").is_file()


def test_corrupt_geotiff(ms, tmp_path):
    bad = ms / "Forest" / "Forest_3.tif"
    bad.write_bytes(b"this is not a tiff" * 50)
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "Forest_3.tif", "cannot open")


def test_truncated_geotiff(ms, tmp_path):
    bad = ms / "SeaLake" / "SeaLake_2.tif"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "SeaLake_2.tif")


def test_wrong_band_count(ms, tmp_path):
    write_tif(ms / "Forest" / "Forest_2.tif", np.full((12, 64, 64), 1000, np.uint16))
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "Forest_2.tif", "expected 13 bands")


def test_wrong_dtype(ms, tmp_path):
    write_tif(ms / "Forest" / "Forest_2.tif", np.full((13, 64, 64), 1000, np.float32))
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "Forest_2.tif", "dtype")


def test_all_nodata_tile(ms, tmp_path):
    write_tif(ms / "Industrial" / "Industrial_4.tif", np.zeros((13, 64, 64), np.uint16))
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "Industrial_4.tif", "nodata")


def test_empty_class_folder(ms, tmp_path):
    (ms / "Pasture").mkdir()
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "Pasture", "empty class folder")


def test_class_short_of_a_split(ms, tmp_path):
    for i in range(3, 7):
        (ms / "SeaLake" / f"SeaLake_{i}.tif").unlink()
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "'SeaLake' is short")


def test_wrong_band_order_fails_loudly(ms, tmp_path):
    import rasterio

    for p in sorted(ms.glob("*/*.tif")):
        with rasterio.open(p) as ds:
            arr, prof = ds.read(), ds.profile
        with rasterio.open(p, "w", **prof) as ds:
            ds.write(arr[::-1])  # reversed band order
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "wrong band order")


@pytest.mark.parametrize(
    "mapping, needle", [("Nowhere: Forest\n", "unknown source class"), ("Forst: Forest\nSeaLake: Water\n", "Forst")]
)
def test_class_map_unknown_class(ms, tmp_path, mapping, needle):
    cmap = tmp_path / "map.yaml"
    cmap.write_text(mapping)
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms), "--class-map", str(cmap)), "map.yaml", needle)


def test_path_escaping_the_root(ms, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(TILES / "Forest" / "Forest_9.tif", outside / "x.tif")
    (ms / "Forest" / "Forest_7.tif").symlink_to(outside / "x.tif")
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms)), "Forest_7.tif", "outside the root")


def test_manifest_path_check_rejects_absolute_and_dotdot():
    from ackd_bench.data.manifest import check_rel_path
    from ackd_bench.errors import DataError

    for bad in ("/etc/passwd", "../x.tif", "a/../../x.tif", "C:/x.tif", ""):
        with pytest.raises(DataError):
            check_rel_path(bad, "root")
    assert check_rel_path("Forest/Forest_1.tif", "root") == "Forest/Forest_1.tif"


def test_existing_non_empty_out(ms, tmp_path):
    out = tmp_path / "out" / "bench"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("mine")
    code, err, out2 = build(tmp_path, *render_args(ms))
    assert (
        code == 2 and err.strip().startswith("error: ") and "--overwrite" in err and len(err.strip().splitlines()) == 1
    )
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert not list(out.parent.glob(".bench.*"))


def test_bad_option_values(ms, tmp_path):
    assert_failed(
        tmp_path,
        *build(tmp_path, "--teacher", f"nosuch:{ms}", "--student", f"eurosat-rgb-render:{ms}"),
        "unknown source",
    )
    assert_failed(tmp_path, *build(tmp_path, "--preset", "nope"), "unknown preset")
    assert_failed(tmp_path, *build(tmp_path, *render_args(ms), "--bands", "B02,B99"), "B99")
