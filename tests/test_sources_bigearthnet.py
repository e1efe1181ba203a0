"""`bigearthnet-s2` on fixtures in the publisher's v1.0 and v2.0 layouts (tests/data/bigearthnet/make_fixture.py)."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources.bigearthnet_s2 import BANDS, CLASSES_19, CLASSES_43, TO_19
from ackd_bench.errors import ConfigError, DataError

_spec = importlib.util.spec_from_file_location(
    "ben_fixture", Path(__file__).parent / "data" / "bigearthnet" / "make_fixture.py"
)
ben_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ben_fixture)


@pytest.fixture(scope="module")
def ben_v1(tmp_path_factory) -> Path:
    return ben_fixture.write_fixture(tmp_path_factory.mktemp("ben1"), "v1")


@pytest.fixture(scope="module")
def ben_v2(tmp_path_factory) -> Path:
    return ben_fixture.write_fixture(tmp_path_factory.mktemp("ben2"), "v2")


def _src(root, **opts):
    return SOURCES.get("bigearthnet-s2")(root, **opts)


def test_mapping_43_to_19_is_the_published_one():
    assert len(CLASSES_43) == 43 and len(CLASSES_19) == 19
    assert set(TO_19.values()) == set(CLASSES_19)
    dropped = sorted(set(CLASSES_43) - set(TO_19))
    assert len(dropped) == 11 and "Airports" in dropped and "Bare rock" in dropped
    assert (
        TO_19["Sparsely vegetated areas"]
        == TO_19["Natural grassland"]
        == "Natural grassland and sparsely vegetated areas"
    )
    assert TO_19["Estuaries"] == "Marine waters" and TO_19["Water courses"] == "Inland waters"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_scan_labels_primary_and_skips(version, ben_v1, ben_v2):
    root = ben_v1 if version == "v1" else ben_v2
    src = _src(root)
    samples = src.scan()
    plan = ben_fixture.patch_plan()
    expected = [ben_fixture.to_19(p) for p in plan if ben_fixture.to_19(p)]
    assert len(samples) == len(expected) == len(plan) - 1
    assert src.skipped["no_label"] == (1 if version == "v1" else 0)  # the airport-only patch
    counts = Counter(c for p in expected for c in p)
    for s in samples:
        labels = s.extra["labels"]
        assert labels[0] == s.class_name and set(labels) <= set(CLASSES_19)
        # primary = the label carried by the fewest patches
        assert counts[s.class_name] == min(counts[c] for c in labels)
        assert s.bands == BANDS and s.crs == "EPSG:32633" and s.region == "32633"
        assert (s.height, s.width) == (ben_fixture.SIZE, ben_fixture.SIZE)
        assert s.footprint is not None and 13 < s.footprint.centroid.x < 15 and 47 < s.footprint.centroid.y < 49
    assert sorted(sorted(s.extra["labels"]) for s in samples) == sorted(expected)
    assert any(len(s.extra["labels"]) > 1 for s in samples)


def test_primary_first_and_nomenclature_43(ben_v1):
    first = _src(ben_v1, primary="first").scan()
    for s in first:
        assert s.class_name == min(s.extra["labels"], key=CLASSES_19.index)
    s43 = _src(ben_v1, nomenclature=43).scan()
    assert len(s43) == len(ben_fixture.patch_plan())  # nothing dropped in the original nomenclature
    assert any(s.class_name == "Airports" for s in s43)
    assert any("Road and rail networks and associated land" in s.extra["labels"] for s in s43)


def test_read_resamples_every_band_to_10m(ben_v1):
    src = _src(ben_v1)
    s = src.scan()[0]
    x = src.read(s)
    n = ben_fixture.SIZE
    assert x.shape == (12, n, n) and x.dtype == np.uint16
    pdir = ben_v1 / s.extra["patch"]
    for band in BANDS:
        with rasterio.open(pdir / f"{s.sample_id}_{band}.tif") as ds:
            native = ds.read(1)
        got = x[BANDS.index(band)]
        if native.shape == (n, n):  # 10 m: read as stored
            np.testing.assert_array_equal(got, native)
        else:  # 20/60 m: upsampled onto the 10 m grid, block means close to the stored values
            f = n // native.shape[0]
            assert native.shape[0] in (n // 2, n // 6)
            blocks = got.astype(float).reshape(native.shape[0], f, native.shape[1], f).mean(axis=(1, 3))
            assert abs(blocks.mean() - native.mean()) < 0.02 * native.mean()
    sub = SOURCES.get("bigearthnet-s2")(ben_v1, bands=("B04", "B8A"))
    np.testing.assert_array_equal(sub.read(sub.scan()[0]), x[[BANDS.index("B04"), BANDS.index("B8A")]])


def test_exclusion_lists(ben_v1, tmp_path):
    names = [s.sample_id for s in _src(ben_v1).scan()][:3]
    lst = tmp_path / "patches_with_cloud_and_shadow.csv"
    lst.write_text("".join(f"{n},S1B_IW_GRDH_x\n" for n in names))
    src = _src(ben_v1, exclude=str(lst))
    kept = {s.sample_id for s in src.scan()}
    assert not kept & set(names) and src.skipped["excluded"] == 3


def test_bad_inputs(ben_v1, tmp_path):
    import shutil

    with pytest.raises(ConfigError, match="nomenclature"):
        _src(ben_v1, nomenclature=20)
    with pytest.raises(ConfigError, match="unknown option"):
        _src(ben_v1, nomenclatur=19)
    with pytest.raises(DataError, match="no BigEarthNet-S2 patches"):
        _src(tmp_path).scan()
    broken = tmp_path / "broken"
    shutil.copytree(ben_v1, broken)
    patch = next(p for p in sorted((broken / "BigEarthNet-v1.0").iterdir()))
    (patch / f"{patch.name}_B8A.tif").unlink()
    with pytest.raises(DataError, match=r"lacks band file\(s\) \['B8A'\]") as err:
        _src(broken).scan()
    assert patch.name in str(err.value)
    (patch / f"{patch.name}_B8A.tif").write_bytes(b"not a tiff")
    meta = patch / f"{patch.name}_labels_metadata.json"
    doc = json.loads(meta.read_text())
    doc["labels"] = ["Moon dust"]
    meta.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="unknown CORINE class"):
        _src(broken).scan()
    doc["labels"] = ["Coniferous forest"]
    meta.write_text(json.dumps(doc))
    src = _src(broken)
    bad = next(s for s in src.scan() if s.sample_id == patch.name)
    with pytest.raises(DataError, match="cannot read band B8A"):
        src.read(bad)


def test_per_class_keeps_a_seeded_subset(ben_v1):
    full = _src(ben_v1).scan()
    a = _src(ben_v1, per_class=2, seed=1)
    sub = a.scan()
    assert Counter(s.class_name for s in sub) == {c: min(2, n) for c, n in Counter(s.class_name for s in full).items()}
    assert a.skipped["per_class"] == len(full) - len(sub)
    assert [s.sample_id for s in sub] == [s.sample_id for s in _src(ben_v1, per_class=2, seed=1).scan()]
    assert {s.sample_id for s in sub} != {s.sample_id for s in _src(ben_v1, per_class=2, seed=2).scan()}
    with pytest.raises(ConfigError, match="per_class"):
        _src(ben_v1, per_class=0).scan()


def test_m2s_gl_preset_reads_the_names_its_class_map_uses():
    """The m2s-gl preset's class map names 43-class CORINE labels: the preset must ask for them."""
    import yaml

    from ackd_bench.data.build import REPO
    from ackd_bench.data.presets import get_preset

    preset = get_preset("m2s-gl")
    assert preset["teacher"]["source"] == "bigearthnet-s2" and preset["teacher"]["options"]["nomenclature"] == 43
    mapping = yaml.safe_load((REPO / preset["class_map"].removeprefix("repo:")).read_text())
    teacher_keys = [k for k in mapping if k[0].isupper()]  # NWPU-RESISC45 class names are lower case
    assert teacher_keys and set(teacher_keys) <= set(CLASSES_43)
