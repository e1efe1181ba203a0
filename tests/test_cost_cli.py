"""`ackd-bench cost --run RUN_DIR`: the CLI over report.cost.run_cost (docs/results-schema.md, "Transport cost")."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from ackd_bench.cli import cli

TINY = """\
batch_size: 16
eval_batch_size: 64
teacher: {epochs: 1, batch_size: 16}
"""
TRANSPORT_KEYS = {"method", "metric", "ground_cost", "n_max", "reg", "seed", "teacher_side", "per_class",
                  "n_per_class", "mean", "iterations"}


@pytest.fixture(scope="module")
def run_dir(default_bench, tmp_path_factory) -> Path:
    """A finished 1-epoch kd S-S run (its own cache, shared by this module's tests)."""
    import os

    root = tmp_path_factory.mktemp("cost-cli")
    cfg = root / "tiny.yaml"
    cfg.write_text(TINY)
    old = os.environ.get("ACKD_BENCH_CACHE")
    os.environ["ACKD_BENCH_CACHE"] = str(root / "cache")
    try:
        res = CliRunner().invoke(cli, ["run", "--benchmark", str(default_bench), "--method", "kd", "--arch", "S-S",
                                       "--profile", "fast", "--epochs", "1", "--config", str(cfg), "--device", "cpu",
                                       "--quiet", "--out", str(root / "run")], catch_exceptions=False)
    finally:
        if old is None:
            os.environ.pop("ACKD_BENCH_CACHE", None)
        else:
            os.environ["ACKD_BENCH_CACHE"] = old
    assert res.exit_code == 0, res.output
    return root / "run"


@pytest.fixture(autouse=True)
def _run_cache(run_dir, monkeypatch):
    """`cost` re-embeds with the run's cached teacher: point the cache at the run's."""
    monkeypatch.setenv("ACKD_BENCH_CACHE", str(run_dir.parent / "cache"))


def _cost(*args: str):
    return CliRunner().invoke(cli, ["cost", *args], catch_exceptions=False)


def test_cost_exact_writes_cost_json_and_prints_the_mean(run_dir, default_bench):
    res = _cost("--run", str(run_dir))
    assert res.exit_code == 0, res.output
    cost = json.loads((run_dir / "cost.json").read_text())
    assert TRANSPORT_KEYS | {"split"} <= set(cost)
    assert (cost["split"], cost["method"], cost["metric"], cost["teacher_side"]) == ("train", "exact", "W2", "partners")
    assert (cost["n_max"], cost["seed"], cost["reg"], cost["iterations"]) == (500, 0, None, None)
    classes = json.loads((default_bench / "benchmark.json").read_text())["classes"]
    assert set(cost["per_class"]) == set(classes)  # every class has student and teacher train images
    # W2 on L2-normalised embeddings lies in [0, 2]; the mean is the unweighted mean over classes
    assert all(0.0 <= w <= 2.0 for w in cost["per_class"].values())
    assert cost["mean"] == pytest.approx(sum(cost["per_class"].values()) / len(cost["per_class"]))
    assert all(n[0] == n[1] > 0 for n in cost["n_per_class"].values())  # one partner per student
    # the default benchmark has SCKD pairs: the same cost with each student's own MS tile as its partner
    sckd = cost["sckd"]
    assert set(sckd["per_class"]) == set(classes) and all(n[0] == n[1] > 0 for n in sckd["n_per_class"].values())
    assert sckd["mean"] == pytest.approx(sum(sckd["per_class"].values()) / len(classes))
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("W2 (exact) mean over classes: ")
    assert float(lines[0].split(": ")[1].split(";")[0]) == pytest.approx(cost["mean"], abs=1e-6)
    assert float(lines[0].split("under SCKD pairs: ")[1]) == pytest.approx(sckd["mean"], abs=1e-6)
    assert lines[-1] == str(run_dir / "cost.json")
    # deterministic: the same command gives the same file
    first = (run_dir / "cost.json").read_bytes()
    assert _cost("--run", str(run_dir)).exit_code == 0 and (run_dir / "cost.json").read_bytes() == first


def test_cost_options_sinkhorn_split_and_subsample(run_dir, default_bench):
    res = _cost("--run", str(run_dir), "--method", "sinkhorn", "--reg", "0.1", "--split", "test", "--n-max", "3",
                "--seed", "7", "--benchmark", str(default_bench), "--device", "cpu")
    assert res.exit_code == 0, res.output
    assert res.output.startswith("W2 (sinkhorn) mean over classes: ")
    cost = json.loads((run_dir / "cost.json").read_text())
    assert (cost["split"], cost["method"], cost["reg"], cost["n_max"], cost["seed"]) == ("test", "sinkhorn", 0.1, 3, 7)
    assert cost["teacher_side"] == "class_pool"  # test samples are never paired: whole class pools
    assert all(max(n) <= 3 for n in cost["n_per_class"].values())
    assert set(cost["iterations"]) == set(cost["per_class"])
    assert all(math.isfinite(w) and w >= 0.0 for w in cost["per_class"].values())


def test_cost_refuses_bad_input(run_dir, tmp_path):
    res = CliRunner().invoke(cli, ["cost", "--run", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = CliRunner().invoke(cli, ["cost", "--run", str(tmp_path)])  # exists, but not a run folder
    assert res.exit_code == 2 and "config.yaml" in res.output
    res = CliRunner().invoke(cli, ["cost", "--run", str(run_dir), "--method", "emd"])
    assert res.exit_code == 2
