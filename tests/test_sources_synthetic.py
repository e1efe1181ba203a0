"""synthetic: determinism, spectral shapes, the consistency knob, write_synthetic_tree."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from PIL import Image

from ackd_bench.data.bands import EUROSAT_ORDER
from ackd_bench.data.render import render_rgb
from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources.synthetic import DEFAULT_CLASSES, write_synthetic_tree
from ackd_bench.errors import ConfigError

SYN = SOURCES.get("synthetic")
B = {b: i for i, b in enumerate(EUROSAT_ORDER)}


def _read_all(src) -> tuple[list, np.ndarray]:
    samples = src.scan()
    return samples, np.stack([src.read(s) for s in samples])


def test_determinism_and_seed():
    s1, a1 = _read_all(SYN("x", per_class=2, seed=3))
    s2, a2 = _read_all(SYN("y", per_class=2, seed=3))
    _, a3 = _read_all(SYN("x", per_class=2, seed=4))
    assert [s.sample_id for s in s1] == [s.sample_id for s in s2]
    assert all(x.footprint.equals(y.footprint) for x, y in zip(s1, s2))
    np.testing.assert_array_equal(a1, a2)
    assert a1.dtype == np.uint16 and a1.shape == (14, 13, 64, 64)
    assert not np.array_equal(a1, a3)
    assert len({a.tobytes() for a in a1}) == 14  # every tile differs


def test_spectral_shapes_like_sentinel2():
    samples, arr = _read_all(SYN(".", per_class=4, size=32))
    mean = {
        c: arr[[i for i, s in enumerate(samples) if s.class_name == c]].astype(float).mean(axis=(0, 2, 3))
        for c in DEFAULT_CLASSES
    }
    for c, m in mean.items():
        assert 8 <= m[B["B10"]] <= 22, c
    for veg in ("Forest", "Crops", "Grass"):
        assert mean[veg][B["B08"]] > 2 * mean[veg][B["B04"]]
    for other in set(DEFAULT_CLASSES) - {"Water"}:
        for band in ("B08", "B11", "B12"):
            assert mean["Water"][B[band]] < 0.5 * mean[other][B[band]], (other, band)
    assert mean["BareSoil"][B["B11"]] > mean["Forest"][B["B11"]]
    # texture: tiles are not flat
    assert arr[:, B["B08"]].astype(float).std(axis=(1, 2)).min() > 5


def test_band_subset_equals_full_tile():
    full_src, sub_src = SYN(".", per_class=1), SYN(".", per_class=1, bands=("B8A", "B02"))
    s_full, s_sub = full_src.scan()[0], sub_src.scan()[0]
    assert s_sub.bands == ("B8A", "B02")
    np.testing.assert_array_equal(sub_src.read(s_sub), full_src.read(s_full)[[B["B8A"], B["B02"]]])


def test_consistency_one_students_are_renderings():
    teacher = SYN(".", per_class=3, consistency=1.0, pool="teacher")
    student = SYN(".", per_class=3, consistency=1.0, pool="student")
    assert (teacher.modality, student.modality) == ("ms", "rgb")
    t_by_id = {s.sample_id: s for s in teacher.scan()}
    students = student.scan()
    assert len(students) == 21
    for s in students:
        t = t_by_id[s.extra["rendered_from"]]
        assert s.class_name == t.class_name and s.region == t.region and s.footprint.equals(t.footprint)
        img = student.read(s)
        assert img.dtype == np.uint8 and img.shape == (3, 64, 64)
        np.testing.assert_array_equal(img, render_rgb(teacher.read(t), EUROSAT_ORDER))


def test_consistency_zero_other_regions_and_appearance():
    teacher = SYN(".", per_class=3, consistency=0.0).scan()
    paired = SYN(".", per_class=3, consistency=1.0, pool="student")
    unpaired = SYN(".", per_class=3, consistency=0.0, pool="student")
    students = unpaired.scan()
    assert all(s.extra == {} for s in students)
    assert not {s.region for s in teacher} & {s.region for s in students}
    assert not {s.crs for s in teacher} & {s.crs for s in students}  # distinct UTM zones
    t_union = shapely.union_all([t.footprint for t in teacher])
    assert not any(s.footprint.intersects(t_union) for s in students)
    bright_shift = np.mean([unpaired.read(s).astype(float).mean() for s in students])
    bright_same = np.mean([paired.read(s).astype(float).mean() for s in paired.scan()])
    assert bright_shift > bright_same + 10  # gain + haze


def test_consistency_half_pairs_half():
    students = SYN(".", per_class=4, consistency=0.5, pool="student", classes="Water,Forest").scan()
    assert sum("rendered_from" in s.extra for s in students) == 4
    assert {s.class_name for s in students} == {"Water", "Forest"}


def test_footprints_are_real_places():
    samples = SYN(".", per_class=2, consistency=0.0).scan() + SYN(".", per_class=2, pool="student").scan()
    for s in samples:
        lon0, lat0, lon1, lat1 = s.footprint.bounds
        assert -10 < lon0 < lon1 < 40 and 35 < lat0 < lat1 < 60
        zone = int(s.crs[-2:])
        assert zone == int((lon0 + 180) // 6) + 1
    assert len({s.footprint.wkb for s in samples}) == len(samples)


def test_class_knob_and_bad_options():
    assert len({s.class_name for s in SYN(".", per_class=1, classes=9).scan()}) == 9
    assert {s.class_name for s in SYN(".", per_class=1, classes=3).scan()} == set(DEFAULT_CLASSES[:3])
    for bad in ({"classes": "Water,Lava"}, {"classes": 1}, {"pool": "both"}, {"consistency": 1.5}, {"per_class": 0}):
        with pytest.raises(ConfigError):
            SYN(".", **bad)


def test_write_synthetic_tree_feeds_the_generic_sources(tmp_path):
    counts = write_synthetic_tree(tmp_path, per_class=1, size=32, classes="Water,Forest,Road", seed=7, consistency=0.0)
    assert counts == {"ms": 3, "rgb": 3}
    teacher = SYN(".", per_class=1, size=32, classes="Water,Forest,Road", seed=7)
    student = SYN(".", per_class=1, size=32, classes="Water,Forest,Road", seed=7, pool="student")
    ms = SOURCES.get("eurosat-ms")(tmp_path / "ms")
    for gen, disk in zip(teacher.scan(), ms.scan()):
        assert gen.sample_id == disk.sample_id and gen.crs == disk.crs
        np.testing.assert_array_equal(ms.read(disk), teacher.read(gen))
        assert gen.footprint.symmetric_difference(disk.footprint).area < 1e-3 * gen.footprint.area
    with rasterio.open(tmp_path / "ms" / "Water" / "t-Water-00000.tif") as ds:
        assert ds.count == 13 and ds.descriptions == EUROSAT_ORDER and ds.res == (10.0, 10.0)
    rgb = SOURCES.get("imagefolder-rgb")(tmp_path / "rgb", size=32)
    for gen, disk in zip(student.scan(), rgb.scan()):
        np.testing.assert_array_equal(rgb.read(disk), student.read(gen))
    assert Image.open(tmp_path / "rgb" / "Road" / "s-Road-00000.png").size == (32, 32)


def test_confusable_pair_weak_in_rgb_strong_in_nir_swir():
    """Crops and Grass: a small greenness difference the per-tile jitter blurs (d' ~ 1) in RGB, a clear one in MS."""
    from ackd_bench.data.sources.synthetic import RGB_CONFUSABLE, greenness_dprime
    from ackd_bench.engine.probe import band_statistics, linear_probe

    assert ("Crops", "Grass") in RGB_CONFUSABLE
    assert 0.9 < greenness_dprime("Crops", "Grass") < 1.1
    src = SYN(".", per_class=60, size=32, classes="Crops,Grass")
    samples, arr = _read_all(src)
    labels = np.array([s.class_name == "Grass" for s in samples], dtype=np.int64)
    crops, grass = arr[labels == 0].astype(float), arr[labels == 1].astype(float)
    mean = lambda x, band: x[:, B[band]].mean()  # noqa: E731
    assert abs(mean(crops, "B02") / mean(grass, "B02") - 1) < 0.01  # same blue
    assert 1.005 < mean(crops, "B03") / mean(grass, "B03") < 1.05  # crops a little greener
    assert 0.95 < mean(crops, "B04") / mean(grass, "B04") < 0.995  # and a little less red
    for band, factor in (("B08", 1.2), ("B8A", 1.2)):  # NIR clearly higher for the crop
        assert mean(crops, band) > factor * mean(grass, band), band
    assert mean(grass, "B11") > 1.15 * mean(crops, "B11")  # drier grass in SWIR (tile means: soil included)
    # per tile, log(green / red) of the canopy overlaps between the classes: d' about 1, not a clean split
    q10 = np.percentile(arr[:, [B["B03"], B["B04"]]].astype(float).reshape(len(arr), 2, -1), 10, axis=2)
    ratio = np.log(q10[:, 0] / q10[:, 1])
    d = (ratio[labels == 0].mean() - ratio[labels == 1].mean()) / np.sqrt(
        (ratio[labels == 0].var() + ratio[labels == 1].var()) / 2
    )
    assert 0.6 < d < 1.5, d
    # a band-statistics probe: well below the MS one on the rendered RGB, above chance; perfect on the MS bands
    rgb = render_rgb(arr, EUROSAT_ORDER)
    half = np.arange(len(labels)) % 2 == 0
    feats_rgb, feats_ms = band_statistics(rgb), band_statistics(arr)
    acc_rgb = linear_probe(feats_rgb[half], labels[half], feats_rgb[~half], labels[~half])
    acc_ms = linear_probe(feats_ms[half], labels[half], feats_ms[~half], labels[~half])
    assert acc_ms > 0.95 and 0.55 < acc_rgb < 0.85 and acc_rgb < acc_ms - 0.15, (acc_rgb, acc_ms)


def test_greenness_jitter_leaves_the_secondary_material_and_other_bands():
    """The per-tile greenness moves only the main material's green/red; soil, NIR, SWIR are as before."""
    from ackd_bench.data.sources.synthetic import _greenness_gain

    gain = _greenness_gain(EUROSAT_ORDER, 0.1)[:, 0, 0]
    assert gain[B["B03"]] * gain[B["B04"]] == pytest.approx(1.0, abs=1e-6)
    assert np.log(gain[B["B03"]] / gain[B["B04"]]) == pytest.approx(0.1, abs=1e-6)
    assert all(gain[B[b]] == 1.0 for b in EUROSAT_ORDER if b not in ("B03", "B04"))
    # within one class, the canopy's log(green / red) (darkest pixels: no soil) varies from tile to tile
    samples, arr = _read_all(SYN(".", per_class=40, size=32, classes="Crops,Grass"))
    assert {s.class_name for s in samples[:40]} == {"Crops"}
    px = arr[:40, [B["B03"], B["B04"]]].astype(float).reshape(40, 2, -1)
    canopy = np.log(np.percentile(px[:, 0], 10, axis=1) / np.percentile(px[:, 1], 10, axis=1))
    assert 0.04 < canopy.std() < 0.12  # sd 0.07 by construction
