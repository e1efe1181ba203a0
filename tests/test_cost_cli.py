"""`ackd-bench cost --run RUN_DIR`: the CLI over report.cost.run_cost (docs/results-schema.md, "Transport cost")."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny_run import invoke_run

from ackd_bench.cli import cli

TINY = """\
batch_size: 16
eval_batch_size: 64
teacher: {epochs: 1, batch_size: 16}
"""
TRANSPORT_KEYS = {
    "method",
    "reg",
    "n_max",
    "temperature",
    "w2_prob",
    "gw",
    "pair_cost",
    "w2_embed_diag",
    "per_class",
    "sckd",
    "ground_cost",
    "seed",
    "teacher_side",
    "n_per_class",
    "gw_solver",
}
COSTS = ("w2_prob", "gw", "pair_cost", "w2_embed_diag")


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
        invoke_run(default_bench, "kd", root / "run", config=cfg)
    finally:
        if old is None:
            os.environ.pop("ACKD_BENCH_CACHE", None)
        else:
            os.environ["ACKD_BENCH_CACHE"] = old
    return root / "run"


@pytest.fixture(autouse=True)
def _run_cache(run_dir, monkeypatch):
    """`cost` re-embeds with the run's cached teacher: point the cache at the run's."""
    monkeypatch.setenv("ACKD_BENCH_CACHE", str(run_dir.parent / "cache"))


def _cost(*args: str):
    return CliRunner().invoke(cli, ["cost", *args], catch_exceptions=False)


def _printed(line: str) -> dict[str, float]:
    """`w2_prob 0.1; gw 0.2; ...` -> {"w2_prob": 0.1, ...} (n/a -> nan)."""
    out = {}
    for part in line.split(": ", 1)[1].split("; "):
        key, value = part.split(" ")
        out[key] = math.nan if value == "n/a" else float(value)
    return out


def _class_mean(cost: dict, key: str) -> float:
    return sum(v[key] for v in cost["per_class"].values()) / len(cost["per_class"])


def test_cost_exact_writes_cost_json_and_prints_the_means(run_dir, default_bench):
    res = _cost("--run", str(run_dir))
    assert res.exit_code == 0, res.output
    cost = json.loads((run_dir / "cost.json").read_text())
    assert TRANSPORT_KEYS | {"split"} <= set(cost)
    assert (cost["split"], cost["method"], cost["teacher_side"], cost["temperature"]) == (
        "train",
        "exact",
        "partners",
        3.0,
    )
    assert (cost["n_max"], cost["seed"], cost["reg"]) == (500, 0, None)
    classes = json.loads((default_bench / "benchmark.json").read_text())["classes"]
    assert set(cost["per_class"]) == set(classes)  # every class has student and teacher train images
    # ranges: W2 between probability vectors <= sqrt(2), GW and embedding W2 on unit vectors <= 2
    for v in cost["per_class"].values():
        assert 0.0 <= v["w2_prob"] <= v["pair_cost"] + 1e-9 <= math.sqrt(2) + 1e-9  # the pairing is a coupling
        assert 0.0 <= v["gw"] <= 2.0 and 0.0 <= v["w2_embed_diag"] <= 2.0
    for key in COSTS:  # the headline values are unweighted means over classes
        assert cost[key] == pytest.approx(_class_mean(cost, key))
    assert all(n[0] == n[1] > 0 for n in cost["n_per_class"].values())  # one partner per student
    # the default benchmark has SCKD pairs: the same costs with each student's own MS tile as its partner
    sckd = cost["sckd"]
    assert set(sckd["per_class"]) == set(classes) and all(n[0] == n[1] > 0 for n in sckd["n_per_class"].values())
    assert sckd["pair_cost"] == pytest.approx(_class_mean(sckd, "pair_cost"))
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("exact, means over classes: ") and lines[1].startswith("under SCKD pairs: ")
    for line, side in ((lines[0], cost), (lines[1], sckd)):
        printed = _printed(line)
        assert set(printed) == set(COSTS)
        assert all(printed[k] == pytest.approx(side[k], abs=1e-6) for k in COSTS)
    assert lines[-1] == str(run_dir / "cost.json")
    # deterministic: the same command gives the same file
    first = (run_dir / "cost.json").read_bytes()
    assert _cost("--run", str(run_dir)).exit_code == 0 and (run_dir / "cost.json").read_bytes() == first


def test_cost_options_sinkhorn_split_and_subsample(run_dir, default_bench):
    res = _cost(
        "--run",
        str(run_dir),
        "--method",
        "sinkhorn",
        "--reg",
        "0.1",
        "--split",
        "test",
        "--n-max",
        "3",
        "--seed",
        "7",
        "--temperature",
        "2",
        "--benchmark",
        str(default_bench),
        "--device",
        "cpu",
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("sinkhorn, means over classes: ")
    cost = json.loads((run_dir / "cost.json").read_text())
    assert (cost["split"], cost["method"], cost["reg"], cost["n_max"], cost["seed"], cost["temperature"]) == (
        "test",
        "sinkhorn",
        0.1,
        3,
        7,
        2.0,
    )
    assert cost["teacher_side"] == "class_pool"  # test samples are never paired: whole class pools
    assert cost["pair_cost"] is None and "pair_cost n/a" in res.output.splitlines()[0]
    assert all(max(n) <= 3 for n in cost["n_per_class"].values())
    assert all(math.isfinite(v["w2_prob"]) and v["w2_prob"] >= 0.0 for v in cost["per_class"].values())


def test_cost_refuses_bad_input(run_dir, tmp_path):
    res = CliRunner().invoke(cli, ["cost", "--run", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = CliRunner().invoke(cli, ["cost", "--run", str(tmp_path)])  # exists, but not a run folder
    assert res.exit_code == 2 and "config.yaml" in res.output
    res = CliRunner().invoke(cli, ["cost", "--run", str(run_dir), "--method", "emd"])
    assert res.exit_code == 2
    res = CliRunner().invoke(cli, ["cost", "--run", str(run_dir), "--temperature", "0"])
    assert res.exit_code == 2
