"""`ackd-bench run` with SemBridge end to end on the real default benchmark (issue 4's "done when" runs).

- `--method sembridge --arch S-S` with a DynM round inside the epochs: round_000 (SSM) and round_001 (DynM)
  Parquet files with the documented columns, and the `sembridge` key of result.json;
- `--method dkd+sembridge --arch R-M` (ResNet-34 teacher, MobileNetV2 student) end to end;
- the ablation flags `--no-ssm --no-dynm --no-ot1 --no-ot2` reach the record, the losses and the pairing.

The three runs share one cache (teachers, teacher outputs, matcher) to stay CPU-sized: 1-2 epochs, batch 16,
a 1-epoch teacher and the "tiny" matcher tower.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_run import invoke_run

from ackd_bench.io import sha256_file
from ackd_bench.methods.sembridge.matching import PAIRING_COLUMNS

TINY = """\
batch_size: 16
eval_batch_size: 64
teacher: {epochs: 1, batch_size: 16}
sembridge: {matcher: {arch: tiny, epochs: 1, batch_size: 16}}
"""
SEMBRIDGE_KEYS = {"ssm", "dynm", "ot1", "ot2", "dynm_epochs", "matcher", "coral_scale", "ot_weights"}


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sembridge-run-cache")


@pytest.fixture(autouse=True)
def _module_cache(shared_cache, monkeypatch):
    """One cache for this module's runs (conftest gives every test a private one; this overrides it)."""
    monkeypatch.setenv("ACKD_BENCH_CACHE", str(shared_cache))


@pytest.fixture(scope="module")
def tiny_cfg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(TINY)
    return path


def _run(bench: Path, cfg: Path, out: Path, method: str, pair: str, epochs: int, *extra: str) -> dict:
    invoke_run(bench, method, out, *extra, config=cfg, arch=pair, epochs=epochs)
    return json.loads((out / "result.json").read_text())


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _train_labels(bench: Path, pool: str) -> pd.Series:
    df = pd.read_parquet(bench / f"{pool}.parquet", columns=["sample_id", "label", "split"])
    return df[df["split"] == "train"].set_index("sample_id")["label"]


def test_sembridge_s_s_writes_round_000_and_round_001(default_bench, tiny_cfg, shared_cache, tmp_path):
    out = tmp_path / "sb"
    record = _run(default_bench, tiny_cfg, out, "sembridge", "S-S", 2, "--dynm-epochs", "1")

    assert (record["method"], record["pairing"], record["pair"]) == ("sembridge", "ssm", "S-S")
    sb = record["sembridge"]
    assert set(sb) == SEMBRIDGE_KEYS
    assert (sb["ssm"], sb["dynm"], sb["ot1"], sb["ot2"], sb["dynm_epochs"]) == (True, True, True, True, [1])
    assert set(sb["matcher"]) == {"sha256", "val_loss"} and math.isfinite(sb["matcher"]["val_loss"])
    (ckpt,) = (shared_cache / "matchers").glob("*.pt")  # the matcher lives in the cache, named by its sha256
    assert sha256_file(ckpt) == sb["matcher"]["sha256"]
    assert record["config"]["sembridge"]["dynm_epochs"] == [1]
    # Deep CORAL with per-term calibrated weights 0.003 * 255^2 / d (d = 512 for the embeddings, N * C for tokens)
    assert sb["coral_scale"] == "deep_coral"
    assert sb["ot_weights"]["ot2"] == pytest.approx(0.003 * 255**2 / 512)
    assert 0 < sb["ot_weights"]["ot1"] < sb["ot_weights"]["ot2"]

    assert sorted(p.name for p in (out / "pairings").iterdir()) == ["round_000.parquet", "round_001.parquet"]
    students, teachers = _train_labels(default_bench, "student"), _train_labels(default_bench, "teacher")
    for round_idx, epoch, protocol in ((0, 0, "ssm"), (1, 1, "dynm")):
        table = pd.read_parquet(out / "pairings" / f"round_{round_idx:03d}.parquet")
        assert list(table.columns) == PAIRING_COLUMNS  # student_id, teacher_id, score, rank, round, epoch, ...
        assert sorted(table["student_id"]) == sorted(students.index)  # every student train image, once
        assert set(table["round"]) == {round_idx} and set(table["epoch"]) == {epoch}
        assert set(table["protocol"]) == {protocol} and set(table["rank"]) == {1}
        assert set(table["matcher_sha256"]) == {sb["matcher"]["sha256"]}
        assert np.isfinite(table["score"]).all()
        # class-conditional: each partner is a same-class teacher TRAIN image
        assert teachers.loc[table["teacher_id"]].tolist() == students.loc[table["student_id"]].tolist()
    ssm = pd.read_parquet(out / "pairings" / "round_000.parquet")
    assert (ssm["score"] <= 1.0 + 1e-5).all() and (ssm["score"] >= -1.0 - 1e-5).all()  # cosine similarities
    dynm = pd.read_parquet(out / "pairings" / "round_001.parquet")
    assert (dynm["score"] <= 1e-5).all()  # score = -KL(p_T || p_S) of the chosen pair

    rows = _rows(out)
    assert [r["epoch"] for r in rows] == [0, 1]
    assert all({"ce", "kd", "ot1", "ot2"} <= set(r) and np.isfinite(r["loss"]) for r in rows)
    timings = record["timings"]
    assert timings["matcher_s"] > 0 and timings["gallery_s"] > 0 and timings["rematch_s"] > 0


@pytest.mark.slow
def test_dkd_plus_sembridge_r_m_end_to_end(default_bench, tiny_cfg, tmp_path):
    from ackd_bench.report.submit import check_run

    out = tmp_path / "dkd-sb"
    record = _run(default_bench, tiny_cfg, out, "dkd+sembridge", "R-M", 1, "--dynm-epochs", "0")
    assert (record["method"], record["pairing"]) == ("dkd+sembridge", "ssm")
    assert (record["teacher_arch"], record["student_arch"]) == ("resnet34", "mobilenetv2")
    sb = record["sembridge"]
    assert set(sb) == SEMBRIDGE_KEYS
    assert (sb["ssm"], sb["dynm"], sb["ot1"], sb["ot2"], sb["dynm_epochs"]) == (True, True, True, True, [0])
    assert len(sb["matcher"]["sha256"]) == 64 and math.isfinite(sb["matcher"]["val_loss"])
    (row,) = _rows(out)
    assert {"ce", "kd", "ot1", "ot2"} <= set(row) and np.isfinite(row["loss"])
    assert sorted(p.name for p in (out / "pairings").iterdir()) == ["round_000.parquet", "round_001.parquet"]
    _, violations = check_run(out, benchmark=default_bench)
    assert violations == []


def test_ablation_flags_reach_record_losses_and_pairing(default_bench, tiny_cfg, tmp_path):
    out = tmp_path / "ablate"
    record = _run(
        default_bench,
        tiny_cfg,
        out,
        "sembridge",
        "S-S",
        1,
        "--no-ssm",
        "--no-dynm",
        "--no-ot1",
        "--no-ot2",
        "--dynm-epochs",
        "0",
    )
    sb = record["sembridge"]
    assert (sb["ssm"], sb["dynm"], sb["ot1"], sb["ot2"]) == (False, False, False, False)
    assert sb["dynm_epochs"] == [] and sb["matcher"] is None  # --no-dynm wins over an explicit list
    assert record["pairing"] == "random"  # no matcher: the baselines' protocol pairs (the default, random)
    (row,) = _rows(out)
    assert {"ce", "kd"} <= set(row) and not {"ot1", "ot2"} & set(row)
    assert sorted(p.name for p in (out / "pairings").iterdir()) == ["epoch_000.parquet"]
    table = pd.read_parquet(out / "pairings" / "epoch_000.parquet")
    assert set(table["protocol"]) == {"random"}
    students, teachers = _train_labels(default_bench, "student"), _train_labels(default_bench, "teacher")
    assert teachers.loc[table["teacher_id"]].tolist() == students.loc[table["student_id"]].tolist()


@pytest.mark.parametrize("pairing", ["oracle", "ssm", "ssm-free"])
def test_no_ssm_pairs_like_the_baselines_and_refuses_the_rest(pairing):
    from ackd_bench.errors import ConfigError
    from ackd_bench.methods import build_method
    from ackd_bench.models import build_model

    student = build_model("resnet18", in_channels=3, num_classes=4)
    with pytest.raises(ConfigError, match="no_ssm"):
        build_method(
            "sembridge", student, 4, {"pairing": pairing, "sembridge": {"no_ssm": True}}, teacher_token_dim=512
        )
    for ok, resolved in (("random", "random"), ("random-fixed", "random-fixed"), (None, "random")):
        method = build_method(
            "sembridge", student, 4, {"pairing": ok, "sembridge": {"no_ssm": True}}, teacher_token_dim=512
        )
        assert method.opts["pairing"] == resolved


@pytest.mark.parametrize(
    "method, extra, problem",
    [
        ("kd", ["--pairing", "ssm"], "needs a +sembridge method"),
        ("sembridge", ["--pairing", "oracle"], "SemBridge pairs by its matcher"),
        ("sembridge", ["--no-ssm", "--pairing", "ssm"], "no_ssm"),
        ("sembridge", ["--config", "BAD"], "unknown sembridge.coral_scale"),
        ("kdd", [], "unknown method 'kdd'"),
        ("student+sembridge", [], "SemBridge needs a distillation base method"),
    ],
)
def test_bad_combination_fails_before_training_or_writing(default_bench, tmp_path, monkeypatch, method, extra, problem):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ACKD_BENCH_CACHE", str(cache))
    bad = tmp_path / "bad.yaml"
    bad.write_text("sembridge: {coral_scale: huge}\n")
    extra = [str(bad) if a == "BAD" else a for a in extra]
    out = tmp_path / "run"
    res = invoke_run(default_bench, method, out, *extra, ok=False, epochs=None)
    assert res.exit_code == 2, res.output
    assert problem in res.output and len(res.output.strip().splitlines()) == 1
    assert not out.exists() and not (cache / "teachers").exists()  # no teacher trained, nothing written
