"""`multilabel-tif`: MS GeoTIFFs + a CSV / Parquet / JSON label table -> multi-label teacher samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from ackd_bench.data.bands import EUROSAT_ORDER
from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.build import BuildSpec, PoolSpec, build_dataset
from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources.synthetic import generate_ms, to_uint16
from ackd_bench.errors import ConfigError, DataError

# file -> (labels, primary or None); the synthetic class drawn is the first label
ROWS = {
    "a/t00.tif": (["Water"], None),
    "a/t01.tif": (["Water", "Forest"], None),
    "a/t02.tif": (["Forest", "Water"], "Water"),
    "b/t03.tif": (["Forest"], None),
    "b/t04.tif": (["Forest", "Crops"], "Crops"),
    "b/t05.tif": (["Crops"], None),
    "b/t06.tif": (["Crops", "Water"], None),
    "t07.tif": (["Water", "Crops", "Forest"], None),
    "t08.tif": (["Forest"], None),
    "t12.tif": (["Forest"], None),
    "t13.tif": (["Forest", "Crops"], None),
    "t09.tif": (["Crops"], None),
    "t10.tif": (["Water"], None),
    "t11.tif": (["Crops"], None),
}
BANDS = ",".join(EUROSAT_ORDER)


def _write_tifs(root: Path) -> None:
    for k, (file, (labels, _)) in enumerate(ROWS.items()):
        arr = to_uint16(generate_ms(0, file, labels[0], 16, EUROSAT_ORDER))
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        profile = {
            "driver": "GTiff",
            "width": 16,
            "height": 16,
            "count": 13,
            "dtype": "uint16",
            "crs": "EPSG:32632",
            "transform": Affine(10.0, 0.0, 500000.0 + 200 * k, 0.0, -10.0, 5200000.0),
        }
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(arr)


def _write_table(root: Path, kind: str) -> None:
    rows = [{"file": f, "labels": labels, "primary": p} for f, (labels, p) in ROWS.items()]
    if kind == "csv":
        pd.DataFrame([{**r, "labels": ";".join(r["labels"]), "primary": r["primary"] or ""} for r in rows]).to_csv(
            root / "labels.csv", index=False
        )
    elif kind == "parquet":
        pd.DataFrame(rows).to_parquet(root / "labels.parquet", index=False)
    elif kind == "json-list":
        (root / "labels.json").write_text(json.dumps(rows))
    else:  # json-object
        (root / "labels.json").write_text(
            json.dumps(
                {
                    r["file"]: ({"labels": r["labels"], "primary": r["primary"]} if r["primary"] else r["labels"])
                    for r in rows
                }
            )
        )


@pytest.fixture(scope="module")
def tifs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mltif")
    _write_tifs(root)
    return root


def _expected(file: str) -> list[str]:
    labels, primary = ROWS[file]
    primary = primary or labels[0]
    return [primary] + [c for c in labels if c != primary]


@pytest.mark.parametrize("kind", ["csv", "parquet", "json-list", "json-object"])
def test_every_table_format_gives_the_same_samples(kind, tifs, tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(tifs, root)
    _write_table(root, kind)
    src = SOURCES.get("multilabel-tif")(root, band_names=BANDS)
    samples = src.scan()
    assert len(samples) == len(ROWS)
    by_path = {s.path: s for s in samples}
    for file in ROWS:
        s = by_path[file]
        assert s.extra["labels"] == _expected(file) and s.class_name == _expected(file)[0]
        assert s.sample_id == file[:-4].replace("/", "-") and s.region == "32632" and s.footprint is not None
    s = by_path["a/t01.tif"]
    with rasterio.open(root / s.path) as ds:
        np.testing.assert_array_equal(src.read(s), ds.read())


def test_build_writes_the_labels_column(tifs, tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(tifs, root)
    _write_table(root, "csv")
    out = tmp_path / "bench"
    spec = BuildSpec(
        name="mltif",
        size=16,
        bands="all13",
        teacher=PoolSpec("multilabel-tif", str(root), {"band_names": BANDS}),
        student=PoolSpec("synthetic", "", {"pool": "student", "classes": "Water,Forest,Crops", "per_class": 4}),
    )
    build_dataset(spec, out, quiet=True)
    bench = Benchmark.open(out)
    assert bench.multilabel and bench.classes == ["Crops", "Forest", "Water"]
    t = bench.manifest("teacher").set_index("path")
    for file in ROWS:
        assert bench.classes[t.loc[file, "label"]] == _expected(file)[0]
        assert sorted(bench.classes[i] for i in t.loc[file, "labels"]) == sorted(_expected(file))
    assert bench.card["roots"]["teacher"] == str(root)  # files are used in place


def test_bad_tables(tifs, tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(tifs, root)
    src = lambda **o: SOURCES.get("multilabel-tif")(root, band_names=BANDS, **o)  # noqa: E731
    with pytest.raises(ConfigError, match="band_names"):
        SOURCES.get("multilabel-tif")(root)
    with pytest.raises(DataError, match="exactly one label table"):
        src().scan()
    (root / "labels.csv").write_text("file,labels,primary\na/t00.tif,Water;Forest,Crops\n")
    with pytest.raises(DataError, match="primary 'Crops' is not one of its labels"):
        src().scan()
    (root / "labels.csv").write_text("file,labels\nnothere.tif,Water\n")
    with pytest.raises(DataError, match="missing") as err:
        src().scan()
    assert "nothere.tif" in str(err.value)
    (root / "labels.csv").write_text("file,classes\na/t00.tif,Water\n")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['labels'\]"):
        src().scan()
    (root / "labels.csv").write_text("file,labels\n../escape.tif,Water\n")
    with pytest.raises(DataError, match="escapes its root"):
        src().scan()
    (root / "labels.csv").write_text("file,labels\na/t00.tif,Water\n")
    (root / "labels.json").write_text("{}")
    with pytest.raises(DataError, match="exactly one label table"):
        src().scan()
    (root / "labels.json").unlink()
    assert len(src().scan()) == 1
    assert len(src(table=str(root / "labels.csv")).scan()) == 1
