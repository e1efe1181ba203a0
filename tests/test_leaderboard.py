"""`ackd-bench leaderboard`: aggregation checked by hand on a fixture, byte-identical reruns, file contents."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.cli import cli  # noqa: E402
from ackd_bench.report.aggregate import sign_flip_p  # noqa: E402
from ackd_bench.report.leaderboard import build  # noqa: E402
from ackd_bench.report.submit import submit  # noqa: E402

# (method, pairing, pair, seed) -> number of wrong test predictions
PLAN = {("kd", "random", "R-R", 0): 1, ("kd", "random", "R-R", 1): 2, ("kd", "random", "R-R", 2): 4,
        ("kd", "oracle", "R-R", 0): 0, ("kd", "oracle", "R-R", 1): 1,
        ("dkd", "random", "R-R", 0): 3, ("dkd", "random", "R-R", 1): 3, ("dkd", "random", "R-R", 2): 5,
        ("dkd", "random", "R-S", 0): 2,
        ("kd+sembridge", "ssm", "R-R", 1): 6, ("kd+sembridge", "ssm", "R-R", 2): 7}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    bench = fx.build_benchmark(root / "bench")
    subs = root / "submissions"
    for (method, pairing, pair, seed), wrong in PLAN.items():
        run = fx.make_run(root / "runs" / f"{method}-{pairing}-{pair}-{seed}", bench, method=method,
                          pairing=pairing, pair=pair, seed=seed, wrong=wrong)
        submit(run, subs, benchmark=bench)
    n_test = len(fx.test_ids(bench))
    return subs, root / "out", n_test


def _oa(n_test: int, *wrongs: int) -> list[float]:
    return [(n_test - w) / n_test for w in wrongs]


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def test_aggregation_by_hand(built):
    subs, out, n = built
    tables = build(subs, out)
    cells = tables["cells"].set_index(["method", "pairing", "pair"])
    kd_mean, kd_std = _mean_std(_oa(n, 1, 2, 4))
    assert cells.loc[("kd", "random", "R-R"), "oa_mean"] == pytest.approx(kd_mean)
    assert cells.loc[("kd", "random", "R-R"), "oa_std"] == pytest.approx(kd_std)
    dkd_mean, dkd_std = _mean_std(_oa(n, 3, 3, 5))
    assert cells.loc[("dkd", "random", "R-R"), "oa_mean"] == pytest.approx(dkd_mean)
    assert cells.loc[("dkd", "random", "R-R"), "n"] == 3
    assert math.isnan(cells.loc[("dkd", "random", "R-S"), "oa_std"])  # one seed: no std
    oracle_mean = sum(_oa(n, 0, 1)) / 2
    asym = tables["asymmetry"].set_index(["method", "pairing", "pair"])
    assert asym.loc[("kd", "random", "R-R"), "penalty"] == pytest.approx(oracle_mean - kd_mean)
    assert len(asym) == 1  # dkd has no oracle run
    paired = tables["paired"].set_index(["method", "pairing", "pair"])
    diffs = [d - k for d, k in zip(_oa(n, 3, 3, 5), _oa(n, 1, 2, 4))]
    assert paired.loc[("dkd", "random", "R-R"), "mean_diff"] == pytest.approx(sum(diffs) / 3)
    assert paired.loc[("dkd", "random", "R-R"), "p_value"] == pytest.approx(0.25)  # all 3 negative: 2/8
    assert ("dkd", "random", "R-S") not in paired.index  # kd has no R-S run: nothing shared
    # SemBridge's ssm pairing is compared with kd under ACKD's default random pairing, on seeds 1 and 2
    sb = paired.loc[("kd+sembridge", "ssm", "R-R")]
    assert (sb["baseline_pairing"], sb["n"]) == ("random", 2)
    assert sb["mean_diff"] == pytest.approx(sum(a - b for a, b in zip(_oa(n, 6, 7), _oa(n, 2, 4))) / 2)
    assert paired.loc[("dkd", "random", "R-R"), "baseline_pairing"] == "random"
    # README cells: percent, mean ± std (n), best per column in bold
    readme = (out / "README.md").read_text()
    assert f"| kd | random | {100 * kd_mean:.2f} ± {100 * kd_std:.2f} (3) |" in readme
    assert oracle_mean > kd_mean > dkd_mean
    oracle_std = _mean_std(_oa(n, 0, 1))[1]
    assert f"| kd | oracle | **{100 * oracle_mean:.2f} ± {100 * oracle_std:.2f} (2)** |" in readme
    assert f"| dkd | random | {100 * dkd_mean:.2f} ± {100 * dkd_std:.2f} (3) | **{100 * _oa(n, 2)[0]:.2f} (1)** |" \
        in readme
    assert "| R-R | R-S |" in readme.replace("| method | pairing ", "")


def test_csv_and_parquet_rows(built):
    subs, out, n = built
    build(subs, out)
    csv = pd.read_csv(out / "leaderboard.csv")
    assert len(csv) == 5 and set(csv["n"]) == {1, 2, 3}
    runs = pd.read_parquet(out / "submissions.parquet")
    assert len(runs) == len(PLAN)
    assert sorted(runs["test_oa"].round(9)) == sorted(round(v, 9) for v in _oa(n, *PLAN.values()))
    assert set(runs["protocol"]) == {"ACKD", "SCKD"}
    for key in ("w2_prob", "gw", "pair_cost", "w2_embed_diag"):  # every run records every transport cost
        assert runs[key].notna().all(), key
    assert runs.loc[runs["protocol"] == "ACKD", "pair_cost_sckd"].notna().all()
    assert (csv["pair_cost_mean"] >= csv["w2_prob_mean"]).all()
    pngs = sorted(p.name for p in (out / "plots").iterdir())
    assert pngs == ["eurosat-sample_oa_vs_w.png", "eurosat-sample_per_class.png",
                    "eurosat-sample_transport_epochs.png"]
    assert all((out / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerun_is_byte_identical(built, tmp_path):
    subs, _, _ = built
    build(subs, tmp_path / "a")
    res = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(subs), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert sorted(a) == sorted(b) and len(a) == 7
    for name in a:
        assert a[name] == b[name], name
    html = a["index.html"].decode()
    assert "http://" not in html and "https://" not in html and "<link" not in html and " src=\"http" not in html


def test_empty_submissions(tmp_path):
    tables = build(tmp_path / "none", tmp_path / "out")
    assert tables["runs"].empty
    assert "No submissions yet." in (tmp_path / "out" / "README.md").read_text()
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "plots").is_dir()


def test_leaderboard_refuses_an_invalid_folder(built, tmp_path):
    subs, _, _ = built
    bad = tmp_path / "subs"
    bad.mkdir()
    (bad / "stray.txt").write_text("x")
    res = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "stray.txt: unexpected file" in res.output
    assert not (tmp_path / "o").exists()


def test_sign_flip_p_by_hand():
    assert sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)
    assert sign_flip_p([1.0, -1.0]) == pytest.approx(1.0)
    # diffs 1, 1, -3: |mean| = 1/3; patterns with |mean| >= 1/3 are those whose signed sum has |s| >= 1:
    # sums over (±1, ±1, ±3): 5, -1, 1, -5, 1, -5, 5... all 8 have |s| >= 1 -> p = 1
    assert sign_flip_p([1.0, 1.0, -3.0]) == pytest.approx(1.0)
