"""The SCKD reference of an ACKD build (docs/datasets.md, "SCKD reference"): the card names the paired sibling,
and the sibling has the same classes, the same student images in the same splits, and as teacher the MS tiles
those images are rendered from (the ACKD build's `sckd_teacher` tiles)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ackd_bench.data.benchmark import Benchmark

REPO = Path(__file__).resolve().parents[1]


def _build(preset: str, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "ackd_bench", "build-dataset", "--preset", preset, "--out", str(out), "--quiet"],
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    return out


def _card(folder: Path) -> dict:
    return json.loads((folder / "benchmark.json").read_text())


def _students(bench: Path) -> pd.DataFrame:
    cols = ["sample_id", "class_name", "label", "split", "sha256"]
    frame = pd.read_parquet(bench / "student.parquet")
    return frame[[c for c in cols if c in frame.columns]].sort_values("sample_id").reset_index(drop=True)


def test_eurosat_sample_and_its_paired_sibling(default_bench, tmp_path):
    ackd = default_bench
    assert _card(ackd)["sckd_reference"] == "eurosat-sample-paired" and _card(ackd)["split"]["protocol"] == "ackd"
    sckd = _build(_card(ackd)["sckd_reference"], tmp_path / "paired")
    card = _card(sckd)
    # the paired card says what it is and whose reference it is
    assert card["split"]["protocol"] == "sckd" and card["sckd_reference_for"] == "eurosat-sample"
    assert card["sckd_reference"] is None and card["name"] == "eurosat-sample-paired"
    assert card["classes"] == _card(ackd)["classes"]
    # the same student images (content checksums), classes and splits: the same student test set
    a, b = _students(ackd), _students(sckd)
    assert "sha256" in a.columns and a.equals(b)
    assert (a["split"] == "test").sum() > 0
    # the teacher pool of the sibling = the tiles the students are rendered from, each in its student's split
    pairs = Benchmark.open(ackd).sckd_pairs
    teacher = pd.read_parquet(sckd / "teacher.parquet").set_index("sample_id")
    assert sorted(teacher.index) == sorted(pairs["teacher_id"])
    assert (teacher.loc[pairs["teacher_id"], "split"].to_numpy() == pairs["split"].to_numpy()).all()
    assert (teacher.loc[pairs["teacher_id"], "sha256"].to_numpy() == pairs["teacher_sha256"].to_numpy()).all()
    # and none of them is in the ACKD teacher pool (the asymmetry the penalty measures)
    assert not set(teacher.index) & set(pd.read_parquet(ackd / "teacher.parquet")["sample_id"])


def test_cards_without_a_sibling_say_null(tmp_path):
    from ackd_bench.data.build import build_dataset
    from ackd_bench.data.presets import spec_from_options

    card = build_dataset(spec_from_options(preset="eurosat-sample", split_by="paired"), tmp_path / "p", quiet=True)
    assert card["split"]["protocol"] == "sckd" and card["sckd_reference"] is None
    assert card["sckd_reference_for"] is None  # not declared as anyone's reference


def test_synthetic_small_and_its_paired_sibling(synthetic_small_bench, tmp_path):
    """synthetic-small's students are appearance-shifted renderings of scenes in the student regions; its
    sibling keeps exactly those images and trains the teacher on the full MS tiles of the same scenes."""
    import numpy as np

    from ackd_bench.data.sources.synthetic import generate_ms, to_uint16

    ackd = synthetic_small_bench
    assert _card(ackd)["sckd_reference"] == "synthetic-small-paired"
    sckd = _build("synthetic-small-paired", tmp_path / "paired")
    card = _card(sckd)
    assert card["split"]["protocol"] == "sckd" and card["sckd_reference_for"] == "synthetic-small"
    assert card["classes"] == _card(ackd)["classes"]
    a, b = _students(ackd), _students(sckd)
    assert "sha256" in a.columns and a.equals(b)  # same images, same splits
    bench = Benchmark.open(sckd)
    pairs = bench.sckd_pairs.set_index("student_id")
    assert (pairs["teacher_id"] == "ms-of-" + pairs.index.to_series()).all() and pairs["teacher_in_pool"].all()
    teacher = bench.manifest("teacher").set_index("sample_id")
    assert (teacher.loc[pairs["teacher_id"], "split"].to_numpy() == pairs["split"].to_numpy()).all()
    # the teacher tile is the student's scene: the full 13-band tile the image was rendered (and shifted) from
    import rasterio

    from ackd_bench.data.bands import EUROSAT_ORDER

    sid, cls = a["sample_id"].iloc[0], a["class_name"].iloc[0]
    with rasterio.open(sckd / "files" / "teacher" / teacher.loc[f"ms-of-{sid}", "path"]) as ds:
        tile = ds.read()
    assert np.array_equal(tile, to_uint16(generate_ms(0, sid, cls, 32, EUROSAT_ORDER)))


@pytest.mark.parametrize(
    "options", [{"pool": "student", "scenes": "student"}, {"pool": "teacher", "scenes": "student", "consistency": 0.5}]
)
def test_synthetic_scene_options_are_checked(options):
    from ackd_bench.data.sources import SOURCES
    from ackd_bench.errors import ConfigError

    with pytest.raises(ConfigError):
        SOURCES.get("synthetic")("", **options)
