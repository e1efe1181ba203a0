"""Pairing protocols: random (same class, redrawn per epoch), oracle (SCKD pairs), tables, the Pairer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ackd_bench.engine.pairing import (
    COLUMNS,
    Pairer,
    oracle_pairing,
    partner_index,
    random_pairing,
    random_partners,
    save_table,
)
from ackd_bench.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_dir(default_bench) -> Path:
    return default_bench


def _pools():
    s_labels = np.array([0, 0, 1, 1, 2, 2, 2])
    t_labels = np.array([0, 1, 1, 2, 0, 2, 1, 0])
    return [f"s{i}" for i in range(7)], s_labels, [f"t{j}" for j in range(8)], t_labels


def test_random_is_same_class_seeded_and_redrawn_per_epoch():
    s_ids, s_lab, t_ids, t_lab = _pools()
    draws = [random_partners(s_lab, t_lab, seed=3, epoch=e) for e in range(6)]
    for d in draws:
        assert np.array_equal(t_lab[d], s_lab)
    assert np.array_equal(draws[0], random_partners(s_lab, t_lab, seed=3, epoch=0))
    assert any(not np.array_equal(draws[0], d) for d in draws[1:])
    assert not all(np.array_equal(a, b) for a, b in zip(draws, [random_partners(s_lab, t_lab, 4, e) for e in range(6)]))
    table = random_pairing(s_ids, s_lab, t_ids, t_lab, seed=3, epoch=2)
    assert list(table.columns) == COLUMNS
    assert set(table["protocol"]) == {"random"} and set(table["epoch"]) == {2}
    assert np.array_equal(partner_index(table, s_ids, t_ids), draws[2])


def test_class_without_teacher_is_a_data_error():
    with pytest.raises(DataError, match="Lake"):
        random_partners(np.array([0, 3]), np.array([0, 1]), 0, 0, ["A", "B", "C", "Lake"])


def test_oracle_refused_without_sckd_pairs():
    s_ids, s_lab, t_ids, t_lab = _pools()
    with pytest.raises(ConfigError, match="sckd_pairs"):
        oracle_pairing(None, s_ids, 0)
    with pytest.raises(ConfigError, match="oracle"):
        Pairer("oracle", s_ids, s_lab, t_ids, t_lab, 0, Path("unused"), sckd_pairs=None)


def test_oracle_uses_the_rendered_tile_and_rejects_missing_pairs():
    pairs = pd.DataFrame({"student_id": ["s0", "s1"], "teacher_id": ["m0", "m1"]})
    table = oracle_pairing(pairs, ["s1", "s0"], epoch=4)
    assert table["teacher_id"].tolist() == ["m1", "m0"] and set(table["protocol"]) == {"oracle"}
    with pytest.raises(DataError, match="no SCKD pair"):
        oracle_pairing(pairs, ["s0", "s9"], epoch=0)


def test_partner_index_rejects_incomplete_tables():
    s_ids, s_lab, t_ids, t_lab = _pools()
    table = random_pairing(s_ids, s_lab, t_ids, t_lab, 0, 0)
    with pytest.raises(ValueError, match="no partner"):
        partner_index(table.iloc[1:], s_ids, t_ids)
    bad = table.copy()
    bad.loc[0, "teacher_id"] = "nope"
    with pytest.raises(ValueError, match="gallery"):
        partner_index(bad, s_ids, t_ids)


def test_pairer_saves_changed_epoch_tables_and_method_rounds(tmp_path):
    s_ids, s_lab, t_ids, t_lab = _pools()
    pairer = Pairer("random", s_ids, s_lab, t_ids, t_lab, 0, tmp_path)
    for e in range(3):
        pairer.partners_for_epoch(e)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_000.parquet", "epoch_001.parquet", "epoch_002.parquet"]
    saved = pd.read_parquet(tmp_path / "epoch_001.parquet")
    assert saved["student_id"].tolist() == s_ids and set(saved["epoch"]) == {1}
    fixed = random_pairing(s_ids, s_lab, t_ids, t_lab, 9, 0)
    pairer.set_method_table(fixed.assign(score=1.0), 1)
    assert np.array_equal(pairer.partners_for_epoch(3), partner_index(fixed, s_ids, t_ids))
    assert (tmp_path / "round_001.parquet").is_file() and not (tmp_path / "epoch_003.parquet").exists()
    restored = Pairer("random", s_ids, s_lab, t_ids, t_lab, 0, tmp_path / "other")
    restored.load_state(pairer.state(), 4)
    assert np.array_equal(restored.partners_for_epoch(4), partner_index(fixed, s_ids, t_ids))


def test_save_table_requires_columns(tmp_path):
    with pytest.raises(ValueError):
        save_table(pd.DataFrame({"student_id": ["a"]}), tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_oracle_on_the_default_benchmark(bench_dir):
    from ackd_bench.data.benchmark import Benchmark

    bench = Benchmark.open(bench_dir)
    s = bench.load_arrays("student", "train")
    sckd = bench.load_sckd_teacher("train")
    table = oracle_pairing(bench.sckd_pairs, s.sample_ids, 0)
    assert table["teacher_id"].tolist() == sckd.sample_ids  # the gallery row i is student i's own tile
    assert np.array_equal(partner_index(table, s.sample_ids, sckd.sample_ids), np.arange(len(s.sample_ids)))


def test_random_fixed_is_one_seeded_draw_per_run(tmp_path):
    """random-fixed = random's epoch-0 draw, kept for every epoch (saved once); random redraws each epoch."""
    s_ids, s_lab, t_ids, t_lab = _pools()
    fixed = Pairer("random-fixed", s_ids, s_lab, t_ids, t_lab, 3, tmp_path / "fixed")
    redrawn = Pairer("random", s_ids, s_lab, t_ids, t_lab, 3, tmp_path / "redrawn")
    first = fixed.partners_for_epoch(0)
    assert np.array_equal(first, redrawn.partners_for_epoch(0))
    assert all(np.array_equal(fixed.partners_for_epoch(e), first) for e in range(1, 6))
    assert any(not np.array_equal(redrawn.partners_for_epoch(e), first) for e in range(1, 6))
    assert [p.name for p in (tmp_path / "fixed").iterdir()] == ["epoch_000.parquet"]
    assert set(pd.read_parquet(tmp_path / "fixed" / "epoch_000.parquet")["protocol"]) == {"random-fixed"}
    other_seed = Pairer("random-fixed", s_ids, s_lab, t_ids, t_lab, 4, tmp_path / "other")
    assert not all(np.array_equal(other_seed.partners_for_epoch(e), first) for e in range(6))


@pytest.mark.parametrize("pairing", ["random", "random-fixed"])
def test_sembridge_without_its_parts_is_the_baseline_bit_for_bit(pairing, bench_dir, tiny_cfg, tmp_path):
    """kd+sembridge with no_ssm, no_dynm, no_ot1, no_ot2 and pairing P trains exactly like kd with pairing P
    (same partners every epoch, same losses, same predictions): the --no-ssm ablation compares like with like."""
    import json

    from ackd_bench.config import resolve_config
    from ackd_bench.engine.run import run_experiment

    def run(method: str, **extra) -> tuple[dict, list[dict], pd.DataFrame]:
        cfg = resolve_config(
            "fast",
            tiny_cfg,
            {
                "benchmark": str(bench_dir),
                "method": method,
                "pair": "S-S",
                "pairing": pairing,
                "epochs": 2,
                "device": "cpu",
                **extra,
            },
        )
        out = tmp_path / method
        record = run_experiment(cfg, out, quiet=True)
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        rows = [{k: v for k, v in r.items() if k not in ("images_per_s", "epoch_s")} for r in rows]
        return record, rows, pd.read_parquet(out / "predictions.parquet")

    off = {"no_ssm": True, "no_dynm": True, "no_ot1": True, "no_ot2": True}
    kd, kd_rows, kd_pred = run("kd")
    sb, sb_rows, sb_pred = run("kd+sembridge", sembridge=off)
    assert sb["pairing"] == kd["pairing"] == pairing and sb["sembridge"]["matcher"] is None
    assert sb["metrics"] == kd["metrics"]
    assert sb_rows == kd_rows  # every loss term, accuracy and lr of every epoch
    assert sb_pred.equals(kd_pred)
    for name in sorted(p.name for p in (tmp_path / "kd" / "pairings").iterdir()):
        assert pd.read_parquet(tmp_path / "kd+sembridge" / "pairings" / name).equals(
            pd.read_parquet(tmp_path / "kd" / "pairings" / name)
        )
    tables = sorted(p.name for p in (tmp_path / "kd" / "pairings").iterdir())
    assert tables == (
        ["epoch_000.parquet"] if pairing == "random-fixed" else ["epoch_000.parquet", "epoch_001.parquet"]
    )
