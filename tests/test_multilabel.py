"""Multi-label MS teacher: metrics, the synthetic multi-label mode, manifests, BCE teacher, every method.

Benchmarks: the synthetic generator's multi-label mode, and the BigEarthNet-S2 v1.0 layout fixture
(tests/data/bigearthnet/make_fixture.py) as teacher with a synthetic RGB student, joined by a class map.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from tiny_run import invoke_run

from ackd_bench.cli import cli
from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.build import BuildSpec, PoolSpec, build_dataset
from ackd_bench.data.sources import SOURCES
from ackd_bench.data.sources.synthetic import generate_ms, generate_multilabel_ms, multilabel_classes, to_uint16
from ackd_bench.engine.metrics import average_precision, multilabel_metrics

_spec = importlib.util.spec_from_file_location(
    "ben_fixture", Path(__file__).parent / "data" / "bigearthnet" / "make_fixture.py"
)
ben_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ben_fixture)

SYN = {"classes": 3, "per_class": 8}
BEN_CLASS_MAP = """\
# BigEarthNet 19-class names and synthetic student names -> benchmark classes
Coniferous forest: forest
Arable land: crops
Inland waters: water
Forest: forest
Crops: crops
Water: water
"""


# ---------------------------------------------------------------- metrics
def test_average_precision_matches_hand_computed_values():
    # ranking 0.9(+) 0.8(-) 0.7(+) 0.1(-): precision at the positives 1 and 2/3 -> AP = (1 + 2/3) / 2
    assert average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)
    # a tie between a positive and a negative counts as one threshold: precision 1/2 at recall 1
    assert average_precision([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    assert average_precision([0.2, 0.9], [1, 1]) == pytest.approx(1.0)
    assert np.isnan(average_precision([0.2, 0.9], [0, 0]))


def test_multilabel_metrics_threshold_sigmoid_not_raw_logits():
    targets = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    # logit 0.3 -> sigmoid 0.57 (positive; a raw-logit > 0.5 rule would call it negative), -0.2 -> negative
    logits = np.array([[0.3, -2.0, 4.0], [-1.0, 2.0, -0.2], [1.0, -0.5, -3.0]])
    m = multilabel_metrics(logits, targets)
    pred = logits >= 0  # sigmoid >= 0.5
    tp, fp, fn = (pred & (targets == 1)).sum(), (pred & (targets == 0)).sum(), (~pred & (targets == 1)).sum()
    assert (tp, fp, fn) == (4, 0, 1)
    assert m["micro_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["subset_accuracy"] == pytest.approx(2 / 3)  # the third row misses class 1
    per_class = [1.0, 2 * 1 / (2 * 1 + 0 + 1), 1.0]
    assert m["macro_f1"] == pytest.approx(np.mean(per_class))
    aps = [average_precision(1 / (1 + np.exp(-logits[:, k])), targets[:, k]) for k in range(3)]
    assert m["map"] == pytest.approx(np.mean(aps)) and m["map"] == pytest.approx(1.0)
    raw = multilabel_metrics(logits - 0.5, targets)  # the official rule, emulated: fewer positives
    assert raw["micro_f1"] < m["micro_f1"]


def test_teacher_loss_is_bce_for_a_multilabel_benchmark():
    from ackd_bench.engine.teacher import teacher_loss

    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, -3.0]])
    labels = torch.tensor([0, 1])
    targets = {"train": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])}
    idx = torch.tensor([0, 1])
    assert teacher_loss(logits, idx, labels, targets) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(logits, targets["train"]))
    )
    assert teacher_loss(logits, idx, labels, None) == pytest.approx(float(F.cross_entropy(logits, labels)))


# ---------------------------------------------------------------- synthetic multi-label mode
def test_synthetic_multilabel_tiles_carry_every_class_they_show():
    syn = SOURCES.get("synthetic")
    ml = syn(".", size=32, pool="teacher", multilabel=0.5, **SYN)
    plain = syn(".", size=32, pool="teacher", **SYN)
    samples, plain_samples = ml.scan(), plain.scan()
    mixed = [s for s in samples if len(s.extra["labels"]) > 1]
    assert 0 < len(mixed) < len(samples)
    for s, p in zip(samples, plain_samples):
        labels = s.extra["labels"]
        assert labels[0] == s.class_name and len(set(labels)) == len(labels) and set(labels) <= set(ml.classes)
        assert tuple(labels) == multilabel_classes(0, s.sample_id, s.class_name, ml.classes, 0.5)
        if len(labels) == 1:  # unmixed tiles are the same as without the mode
            np.testing.assert_array_equal(ml.read(s), plain.read(p))
    s = mixed[0]
    x = ml.read(s)
    np.testing.assert_array_equal(
        x, to_uint16(generate_multilabel_ms(0, s.sample_id, tuple(s.extra["labels"]), 32, s.bands))
    )
    other = to_uint16(generate_ms(0, f"{s.sample_id}+{s.extra['labels'][1]}", s.extra["labels"][1], 32, s.bands))
    own = plain.read(next(p for p in plain_samples if p.sample_id == s.sample_id))
    from_other = (x == other).all(0).mean()
    from_own = (x == own).all(0).mean()
    assert 0.2 < from_other < 0.5 and from_own > 0.5 and from_other + from_own == pytest.approx(1.0)
    # the student stays single-label; renderings of mixed tiles show the mixed tile
    st = syn(".", size=32, pool="student", multilabel=0.5, consistency=1.0, **SYN)
    rendered = next(r for r in st.scan() if r.extra["rendered_from"] == s.sample_id)
    assert "labels" not in rendered.extra
    from ackd_bench.data.render import render_rgb

    np.testing.assert_array_equal(st.read(rendered), render_rgb(x[[3, 2, 1]], ("B04", "B03", "B02")))
    with pytest.raises(Exception, match="multilabel must be a fraction"):
        syn(".", pool="teacher", multilabel=1.5)


# ---------------------------------------------------------------- benchmarks
@pytest.fixture(scope="module")
def ml_bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ml") / "bench"
    spec = BuildSpec(
        name="synthetic-multilabel",
        size=32,
        teacher=PoolSpec("synthetic", "", {"pool": "teacher", "multilabel": 0.5, **SYN}),
        student=PoolSpec("synthetic", "", {"pool": "student", **SYN}),
    )
    build_dataset(spec, out, quiet=True)
    return out


@pytest.fixture(scope="module")
def ben_bench(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("ben")
    root = ben_fixture.write_fixture(base / "raw", "v1")
    cmap = base / "ben.yaml"
    cmap.write_text(BEN_CLASS_MAP)
    out = base / "bench"
    spec = BuildSpec(
        name="ben-fixture",
        size=32,
        class_map=str(cmap),
        teacher=PoolSpec("bigearthnet-s2", str(root), {}),
        student=PoolSpec("synthetic", "", {"pool": "student", "classes": "Water,Forest,Crops", "per_class": 8}),
    )
    build_dataset(spec, out, quiet=True)
    return out


def test_synthetic_multilabel_manifest_and_card(ml_bench):
    bench = Benchmark.open(ml_bench)
    card = bench.card
    assert bench.multilabel and card["multilabel"]["pool"] == "teacher"
    t = bench.manifest("teacher")
    assert "labels" in t.columns and "labels" not in bench.manifest("student").columns
    for label, labels in zip(t["label"], t["labels"]):
        assert list(labels) == sorted(set(labels)) and label in labels
    assert (t["labels"].map(len) > 1).any()
    counts = np.bincount(np.concatenate(t["labels"].to_numpy()), minlength=bench.num_classes)
    assert card["multilabel"]["label_counts"] == {c: int(n) for c, n in zip(bench.classes, counts)}
    # the primary classes are what the card's per-split counts count
    assert sum(sum(v.values()) for v in card["counts"]["teacher"].values()) == len(t)
    y = bench.targets("teacher", "val")
    val = t[t["split"] == "val"]
    assert y.shape == (len(val), bench.num_classes) and y.sum() == val["labels"].map(len).sum()
    assert (y[np.arange(len(val)), val["label"].to_numpy()] == 1).all()
    assert val["sample_id"].tolist() == bench.load_arrays("teacher", "val").sample_ids
    s = bench.targets("student", "test")
    assert (s.sum(1) == 1).all()


def test_bigearthnet_build_maps_labels_and_picks_a_surviving_primary(ben_bench):
    bench = Benchmark.open(ben_bench)
    assert bench.classes == ["crops", "forest", "water"] and bench.multilabel
    t = bench.manifest("teacher")
    idx = {c: i for i, c in enumerate(bench.classes)}
    to_bench = {"Coniferous forest": "forest", "Arable land": "crops", "Inland waters": "water"}
    plan = {}
    for k, labels in enumerate(ben_fixture.patch_plan()):
        row, col = divmod(k, 10)
        plan[f"{ben_fixture.V1_DATE}_{row}_{col}"] = ben_fixture.to_19(labels)
    for sid, label, labels, src_cls in zip(t["sample_id"], t["label"], t["labels"], t["source_class"]):
        expected = sorted({idx[to_bench[c]] for c in plan[sid] if c in to_bench})
        assert list(labels) == expected and label in expected
        assert to_bench[src_cls] == bench.classes[label]  # source_class names the primary's source class
    # "Pastures" is the rarest label of some patches but has no benchmark class: those patches fall back
    # to their next label instead of being dropped, and Pastures is counted as a dropped label
    details = bench.card["sources"]["teacher"]["details"]
    assert details["layout"] == "BigEarthNet-S2 v1.0" and details["skipped"]["no_label"] == 1
    ml = bench.card["multilabel"]
    assert ml["dropped_labels"] == {"Pastures": sum("Pastures" in v for v in plan.values())}
    assert len(t) == sum(any(c in to_bench for c in v) for v in plan.values())
    assert bench.available_bands == list(ben_fixture.BAND_RES) and t["height"].unique().tolist() == [ben_fixture.SIZE]


def test_bce_teacher_records_multilabel_metrics(ml_bench, tiny_cfg):
    from ackd_bench.engine.cache import cache_root
    from ackd_bench.engine.teacher import teacher_summary

    res = CliRunner().invoke(
        cli,
        [
            "train-teacher",
            "--benchmark",
            str(ml_bench),
            "--arch",
            "S-S",
            "--profile",
            "fast",
            "--epochs",
            "2",
            "--config",
            str(tiny_cfg),
            "--device",
            "cpu",
            "--quiet",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "val mAP" in res.output and "test mAP" in res.output and "OA" not in res.output
    (info_path,) = (cache_root() / "teachers").glob("*/info.json")
    info = json.loads(info_path.read_text())
    assert info["test_oa"] is None and info["val_oa_best"] is None
    assert 0 <= info["val_map_best"] <= 1 and [set(h) for h in info["history"]] == [{"epoch", "loss", "val_map"}] * 2
    ml = info["test_multilabel"]
    assert set(ml) == {"map", "micro_f1", "macro_f1", "subset_accuracy", "primary_top1"}
    assert all(0 <= v <= 1 for v in ml.values())
    assert teacher_summary(info) in res.output


def _method_cases() -> list[tuple[str, str]]:
    from ackd_bench.methods import METHODS

    methods = METHODS.names() + ["sembridge", "dkd+sembridge"]
    return [(bench, m) for bench in ("synthetic", "bigearthnet") for m in methods]


@pytest.mark.parametrize("bench_name, method", _method_cases())
def test_every_method_distils_a_multilabel_teacher(bench_name, method, ml_bench, ben_bench, tiny_cfg, tmp_path):
    from ackd_bench.report.submit import check_run

    bench_dir = ml_bench if bench_name == "synthetic" else ben_bench
    out = tmp_path / "run"
    extra = ["--dynm-epochs", "0"] if "sembridge" in method else []
    invoke_run(bench_dir, method, out, *extra, config=tiny_cfg)
    record, violations = check_run(out, benchmark=bench_dir)
    assert violations == []
    m = record["metrics"]
    assert m["teacher_test_oa"] is None and 0 <= m["teacher_test_multilabel"]["map"] <= 1
    # the student is single-label: predictions are class indices scored against the primary label
    pred = pd.read_parquet(out / "predictions.parquet")
    truth = Benchmark.open(bench_dir).manifest("student").query("split == 'test'").set_index("sample_id")["label"]
    assert m["test_oa_best_val"] == pytest.approx(
        float(np.mean(pred["prediction"].to_numpy() == truth.loc[pred["sample_id"]].to_numpy()))
    )
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and np.isfinite(rows[0]["loss"])
    if "sembridge" in method:  # the matcher pairs students with teacher tiles of their (primary) class
        pairs = pd.read_parquet(out / "pairings" / "round_000.parquet")
        bench = Benchmark.open(bench_dir)
        s_label = bench.manifest("student").set_index("sample_id")["label"]
        t_label = bench.manifest("teacher").set_index("sample_id")["label"]
        assert (s_label.loc[pairs["student_id"]].to_numpy() == t_label.loc[pairs["teacher_id"]].to_numpy()).all()
