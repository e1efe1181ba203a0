"""Student label-efficiency partitions: build-dataset --train-fractions, run --train-fraction, the sweep axis,
the leaderboard's OA-vs-fraction table and plot."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from tiny_run import invoke_run

from ackd_bench.cli import cli
from ackd_bench.data.benchmark import Benchmark
from ackd_bench.data.splits import train_fraction_of
from ackd_bench.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

FRACTIONS = (0.1, 0.5, 1.0)


def _ids(n_per_class: dict[str, int]) -> dict[str, list[str]]:
    return {c: [f"{c}_{i:03d}" for i in range(n)] for c, n in n_per_class.items()}


def test_fractions_are_nested_stratified_and_seeded():
    ids = _ids({"A": 100, "B": 37, "C": 3})
    fr = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0)
    got = train_fraction_of(ids, fr, seed=0)
    assert set(got) == {i for v in ids.values() for i in v}  # 1 is built: every train sample has a fraction
    for f in fr:
        subset = {i for i, g in got.items() if g <= f}
        for members in ids.values():
            n = len(members)
            # at least one per class; otherwise floor(f * n + 0.5) of the class
            assert len(subset & set(members)) == min(n, max(1, int(np.floor(f * n + 0.5))))
    for small, big in itertools.pairwise(fr):  # nested
        assert {i for i, g in got.items() if g <= small} <= {i for i, g in got.items() if g <= big}
    assert train_fraction_of(ids, fr, seed=0) == got  # deterministic
    assert train_fraction_of(ids, list(reversed(fr)), seed=0) == got  # order of the list does not matter
    other = train_fraction_of(ids, fr, seed=1)
    assert {i for i, g in other.items() if g <= 0.1} != {i for i, g in got.items() if g <= 0.1}
    # without 1: samples outside the largest fraction belong to none
    part = train_fraction_of(ids, (0.5,), seed=0)
    assert len(part) == 50 + 19 + 2
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        train_fraction_of(ids, (0.0, 0.5), seed=0)


@pytest.fixture(scope="module")
def frac_bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fractions") / "bench"
    res = CliRunner().invoke(
        cli,
        [
            "build-dataset",
            "--preset",
            "synthetic-small",
            "--train-fractions",
            "0.5,0.1,1",
            "--out",
            str(out),
            "--quiet",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    return out


def test_build_writes_the_manifest_column_and_card(frac_bench, tmp_path):
    bench = Benchmark.open(frac_bench)
    assert bench.train_fractions == list(FRACTIONS)
    s = bench.manifest("student")
    train = s[s.split == "train"]
    assert s.loc[s.split != "train", "train_fraction"].isna().all()
    assert train.train_fraction.notna().all()
    counts = bench.card["train_fractions"]["counts"]
    for f in FRACTIONS:
        per_class = train[train.train_fraction <= f].groupby("class_name").size().to_dict()
        assert per_class == counts[f"{f:g}"]
        assert min(per_class.values()) >= 1 and set(per_class) == set(bench.classes)
    assert counts["0.1"] == {c: 1 for c in bench.classes} and counts["0.5"] == {c: 4 for c in bench.classes}
    assert "nested" in bench.card["train_fractions"]["rule"]
    assert "--train-fractions 0.1,0.5,1" in bench.card["command"]
    assert "train_fraction" not in bench.manifest("teacher").columns
    # the subset loader
    x = bench.load_arrays("student", "train", train_fraction=0.5)
    assert len(x.sample_ids) == 16 and set(x.sample_ids) == set(train[train.train_fraction <= 0.5].sample_id)
    full = bench.load_arrays("student", "train")
    pos = [full.sample_ids.index(i) for i in x.sample_ids]
    np.testing.assert_array_equal(np.asarray(x.x), np.asarray(full.x)[pos])
    # the same build again gives the same column (seeded)
    again = tmp_path / "again"
    CliRunner().invoke(
        cli,
        [
            "build-dataset",
            "--preset",
            "synthetic-small",
            "--train-fractions",
            "0.1,0.5,1",
            "--out",
            str(again),
            "--quiet",
        ],
        catch_exceptions=False,
    )
    pd.testing.assert_series_equal(Benchmark.open(again).manifest("student").train_fraction, s.train_fraction)


@pytest.mark.parametrize("bad", ["0,0.5", "0.5,2", "a,b"])
def test_build_refuses_bad_fractions(bad, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "build-dataset",
            "--preset",
            "synthetic-small",
            "--train-fractions",
            bad,
            "--out",
            str(tmp_path / "b"),
            "--quiet",
        ],
    )
    assert res.exit_code == 2 and res.output.startswith("error: ") and res.output.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_run_uses_the_fraction_and_records_it(frac_bench, tiny_cfg, tmp_path):
    out = tmp_path / "run"
    invoke_run(frac_bench, "kd", out, "--train-fraction", "0.5", config=tiny_cfg)
    result = json.loads((out / "result.json").read_text())
    assert result["train_fraction"] == 0.5 and result["config"]["train_fraction"] == 0.5
    assert result["training"]["student"]["train_images"] == 16  # the budget counts the fraction's images
    s = Benchmark.open(frac_bench).manifest("student")
    subset = set(s[(s.split == "train") & (s.train_fraction <= 0.5)].sample_id)
    paired = pd.read_parquet(next((out / "pairings").glob("*.parquet")))
    assert set(paired["student_id"]) == subset  # the student trained on the subset only
    # a fraction the benchmark did not build: one line, exit 2, nothing written
    bad = tmp_path / "bad"
    res = invoke_run(frac_bench, "kd", bad, "--train-fraction", "0.25", ok=False, config=tiny_cfg, quiet=False)
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "train fraction 0.25 was not built" in res.output and "0.1, 0.5, 1" in res.output
    assert not bad.exists()


def _write_grid(path: Path, bench: Path, train_fractions: list[float]) -> None:
    """A one-cell kd grid over `bench` with the `train_fractions` axis."""
    grid = {"benchmarks": [str(bench)], "methods": ["kd"], "pairings": ["random"], "pairs": ["S-S"], "seeds": [0]}
    path.write_text(yaml.safe_dump({**grid, "train_fractions": train_fractions, "out": "runs"}))


def test_sweep_grid_axis(frac_bench, tmp_path):
    from ackd_bench.sweep.grid import expand, load_grid

    grid = tmp_path / "grid.yaml"
    _write_grid(grid, frac_bench, [0.1, 1])
    cells = expand(load_grid(grid))
    assert [c.rel_dir.split("/")[-1] for c in cells] == ["seed0-frac0.1", "seed0"]
    assert "--train-fraction" in cells[0].command() and "0.1" in cells[0].command()
    assert "--train-fraction" not in cells[1].command()
    _write_grid(grid, frac_bench, [0.25])
    with pytest.raises(ConfigError, match="no train fraction 0.25"):
        expand(load_grid(grid))
    _write_grid(grid, frac_bench, [0, 1])
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        load_grid(grid)


# (method, fraction, seed) -> wrong test predictions
PLAN = {
    ("kd", 0.1, 0): 6,
    ("kd", 0.1, 1): 4,
    ("kd", 1.0, 0): 1,
    ("kd", 1.0, 1): 2,
    ("dkd", 0.1, 0): 5,
    ("dkd", 1.0, 0): 0,
}


def test_leaderboard_label_efficiency(tmp_path):
    from ackd_bench.report.leaderboard import build
    from ackd_bench.report.submit import submit

    bench = fx.build_benchmark(tmp_path / "bench")
    subs = tmp_path / "submissions"
    for (method, fraction, seed), wrong in PLAN.items():
        run = fx.make_run(
            tmp_path / "runs" / f"{method}-{fraction}-{seed}", bench, method=method, seed=seed, wrong=wrong
        )
        if fraction < 1:
            record = json.loads((run / "result.json").read_text())
            record["train_fraction"] = fraction
            (run / "result.json").write_text(json.dumps(record))
        submit(run, subs, benchmark=bench)
    name = json.loads((bench / "benchmark.json").read_text())["name"]
    assert len(list((subs / name / "kd" / "random" / "R-R").glob("*/seed0-frac0.1/result.json"))) == 1
    from ackd_bench.report.folder_check import validate_submissions_folder

    assert validate_submissions_folder(subs) == []  # the fraction folders are part of the layout
    tables = build(subs, tmp_path / "lb")
    n = len(fx.test_ids(bench))
    assert len(tables["runs"]) == 3  # the main tables keep the whole-split runs only
    curves = tables["label_efficiency"]
    got = {(r.method, r.train_fraction): (r.n, round(r.oa_mean, 9), r.seeds) for r in curves.itertuples()}
    assert got == {
        ("dkd", 0.1): (1, round((n - 5) / n, 9), "0"),
        ("dkd", 1.0): (1, 1.0, "0"),
        ("kd", 0.1): (2, round((2 * n - 10) / (2 * n), 9), "0,1"),
        ("kd", 1.0): (2, round((2 * n - 3) / (2 * n), 9), "0,1"),
    }
    kd01 = curves[(curves.method == "kd") & (curves.train_fraction == 0.1)].iloc[0]
    assert kd01.seed_oa == f"{(n - 6) / n:.6f},{(n - 4) / n:.6f}"
    from ackd_bench.report.stats import hierarchical_bootstrap_ci

    assert curves[["ci_lo", "ci_hi"]].notna().all().all()
    assert (curves["ci_lo"] <= curves["oa_mean"] + 1e-12).all() and (curves["ci_hi"] >= curves["oa_mean"] - 1e-12).all()
    perfect = (curves.method == "dkd") & (curves.train_fraction == 1.0)  # one seed, no wrong prediction
    assert (curves.loc[perfect, ["ci_lo", "ci_hi"]].to_numpy() == 1.0).all()
    assert (curves.loc[~perfect, "ci_hi"] - curves.loc[~perfect, "ci_lo"] > 0).all()
    # the interval is the statistics module's, on the runs' per-image correctness (as fractions, not %)
    _, lo, hi = hierarchical_bootstrap_ci(
        {0: np.r_[np.zeros(6), np.ones(n - 6)], 1: np.r_[np.zeros(4), np.ones(n - 4)]}
    )
    assert abs(kd01.ci_lo - lo / 100) < 0.03 and abs(kd01.ci_hi - hi / 100) < 0.03
    csv = pd.read_csv(tmp_path / "lb" / "label_efficiency.csv")
    assert len(csv) == 4 and list(csv.train_fraction) == [0.1, 1.0, 0.1, 1.0]
    assert curves.groupby("method")["config"].nunique().to_dict() == {"dkd": 1, "kd": 1}  # one curve each
    png = next((tmp_path / "lb" / "plots").glob("*_label_efficiency.png")).read_bytes()
    assert png.startswith(b"\x89PNG")
    assert "Label efficiency" in (tmp_path / "lb" / "index.html").read_text()
