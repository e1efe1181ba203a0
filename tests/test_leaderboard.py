"""`ackd-bench leaderboard`: cells, CIs, tied groups, paired tests, variants, normaliser, releases, files.

Runs are real submissions against a real benchmark build whose predictions get exactly `wrong` of its test
images wrong (tests/data/report/make_fixture.py); expected values are recomputed here by hand.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import make_fixture as fx  # noqa: E402

from ackd_bench.cli import cli  # noqa: E402
from ackd_bench.report import stats  # noqa: E402
from ackd_bench.report.leaderboard import build  # noqa: E402
from ackd_bench.report.submit import submit  # noqa: E402

# (method, pairing, pair, seed) -> number of wrong test predictions (of 20)
PLAN = {
    ("kd", "random", "R-R", 0): 1,
    ("kd", "random", "R-R", 1): 2,
    ("kd", "random", "R-R", 2): 4,
    ("kd", "oracle", "R-R", 0): 0,
    ("kd", "oracle", "R-R", 1): 1,
    ("dkd", "random", "R-R", 0): 3,
    ("dkd", "random", "R-R", 1): 3,
    ("dkd", "random", "R-R", 2): 5,
    ("dkd", "random", "R-S", 0): 2,
    ("kd+sembridge", "ssm", "R-R", 1): 6,
    ("kd+sembridge", "ssm", "R-R", 2): 7,
    ("student", "random", "R-R", 0): 12,
    ("student", "random", "R-R", 1): 13,
    ("student", "random", "R-R", 2): 14,
}


def _submit_plan(root: Path, bench: Path, plan: dict, subs: Path, config: dict | None = None, tag: str = "") -> None:
    for (method, pairing, pair, seed), wrong in plan.items():
        run = fx.make_run(
            root / "runs" / f"{tag}{method}-{pairing}-{pair}-{seed}",
            bench,
            method=method,
            pairing=pairing,
            pair=pair,
            seed=seed,
            wrong=wrong,
            config=config,
        )
        submit(run, subs, benchmark=bench)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """The default build without a declared paired sibling (its real card names `eurosat-sample-paired`): here
    `oracle` on this build is the SCKD reference; test_declared_sckd_reference_and_paper_column declares one."""
    out = fx.build_benchmark(tmp_path_factory.mktemp("lbbench") / "bench")
    card = json.loads((out / "benchmark.json").read_text())
    (out / "benchmark.json").write_text(json.dumps({**card, "sckd_reference": None}))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory, bench):
    root = tmp_path_factory.mktemp("lb")
    subs = root / "submissions"
    _submit_plan(root, bench, PLAN, subs)
    # one hyper-parameter apart: its own cell (a variant), never averaged into kd's
    _submit_plan(root, bench, {("kd", "random", "R-R", 0): 9}, subs, config={"method_args": {"T": 2.0}}, tag="T2-")
    tables = build(subs, root / "out")
    return subs, root / "out", len(fx.test_ids(bench)), tables


def _oa(n_test: int, *wrongs: int) -> list[float]:
    return [(n_test - w) / n_test for w in wrongs]


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _cells(tables) -> pd.DataFrame:
    c = tables["cells"]
    return c[c["default_variant"]].set_index(["method", "pairing", "pair"])


def test_cells_by_hand_with_ci(built):
    _, _, n, tables = built
    cells = _cells(tables)
    kd_mean, kd_std = _mean_std(_oa(n, 1, 2, 4))
    kd = cells.loc[("kd", "random", "R-R")]
    assert kd["oa_mean"] == pytest.approx(kd_mean) and kd["oa_std"] == pytest.approx(kd_std) and kd["n"] == 3
    assert kd["oa_lo"] <= kd_mean <= kd["oa_hi"] and kd["oa_hi"] - kd["oa_lo"] > 0
    assert math.isnan(cells.loc[("dkd", "random", "R-S"), "oa_std"])  # one seed: no std
    # ranking policy: < 3 seeds, the oracle reference and variants are shown but not ranked
    assert bool(kd["ranked"]) and bool(cells.loc[("dkd", "random", "R-R"), "ranked"])
    assert cells.loc[("dkd", "random", "R-S"), "not_ranked_why"] == "fewer than 3 seeds"
    assert cells.loc[("kd+sembridge", "ssm", "R-R"), "not_ranked_why"] == "fewer than 3 seeds"
    assert cells.loc[("kd", "oracle", "R-R"), "not_ranked_why"] == "fewer than 3 seeds"


def test_variant_is_its_own_row(built):
    subs, out, n, tables = built
    kd_rows = tables["cells"][(tables["cells"]["method"] == "kd") & (tables["cells"]["pairing"] == "random")]
    assert len(kd_rows) == 2
    variant = kd_rows[~kd_rows["default_variant"]].iloc[0]
    assert variant["variant"] == "fast: method_args.T=2.0" and variant["n"] == 1
    assert variant["oa_mean"] == pytest.approx(_oa(n, 9)[0]) and variant["not_ranked_why"] == "fewer than 3 seeds"
    assert _cells(tables).loc[("kd", "random", "R-R"), "oa_mean"] == pytest.approx(np.mean(_oa(n, 1, 2, 4)))
    readme = (out / "README.md").read_text()
    assert "| kd | random | fast: method_args.T=2.0 |" in readme and "method_args.T=2.0" in readme


def test_tied_group_and_resolved_cells(built):
    _, out, _, tables = built
    cells = _cells(tables)
    # kd (mean 2.3 wrong) and dkd (3.7 wrong) cannot be told apart on 20 images; student (13 wrong) can
    assert cells.loc[("kd", "random", "R-R"), "mark"] == "tied"
    assert cells.loc[("dkd", "random", "R-R"), "mark"] == "tied"
    assert cells.loc[("student", "random", "R-R"), "mark"] == ""
    assert cells.loc[("student", "random", "R-R"), "group_p"] < 0.05
    readme = (out / "README.md").read_text()
    assert "| kd | random | fast | ≈ " in readme and "**" not in readme.split("### Test OA")[1].split("###")[0]


def test_a_clearly_better_cell_is_bold(tmp_path, bench):
    subs = tmp_path / "subs"
    _submit_plan(
        tmp_path,
        bench,
        {
            **{("kd", "random", "R-R", s): 0 for s in range(3)},
            **{("student", "random", "R-R", s): 12 + s for s in range(3)},
        },
        subs,
    )
    tables = build(subs, tmp_path / "out")
    assert _cells(tables).loc[("kd", "random", "R-R"), "mark"] == "best"
    assert "| kd | random | fast | **100.00 [100.00, 100.00] (3)** |" in (tmp_path / "out" / "README.md").read_text()


def test_paired_comparisons_by_hand(built):
    _, _, n, tables = built
    paired = tables["paired"]
    p = paired[paired["method"] == "dkd"].set_index(["vs", "pair"])
    dkd = p.loc[("kd", "R-R")]
    diffs = [d - k for d, k in zip(_oa(n, 3, 3, 5), _oa(n, 1, 2, 4))]
    assert dkd["diff"] == pytest.approx(np.mean(diffs)) and dkd["diff_lo"] <= dkd["diff"] <= dkd["diff_hi"]
    assert dkd["p_sign_flip"] == pytest.approx(0.25)  # all 3 negative: 2/8
    assert (dkd["n_seeds"], dkd["n_images"]) == (3, 3 * n)
    assert ("kd", "R-S") not in p.index  # kd has no R-S run
    assert p.loc[("student", "R-R"), "vs_pairing"] == "random"
    # SemBridge's ssm pairing is compared with kd under random, on the 2 shared seeds
    sb = paired[(paired["method"] == "kd+sembridge") & (paired["vs"] == "kd")].iloc[0]
    assert (sb["vs_pairing"], sb["n_seeds"]) == ("random", 2)
    assert sb["diff"] == pytest.approx(np.mean([a - b for a, b in zip(_oa(n, 6, 7), _oa(n, 2, 4))]))
    assert np.allclose(paired["p_holm"], stats.holm(paired["p_mcnemar"].to_numpy()))
    kd_rows = paired[(paired["method"] == "kd") & (paired["pairing"] == "random") & (paired["vs"] == "kd")]
    assert list(kd_rows["variant"]) == ["fast: method_args.T=2.0"]  # the default cell is never compared with itself


def test_asymmetry_penalty_with_ci(built):
    _, _, n, tables = built
    asym = tables["asymmetry"][tables["asymmetry"]["variant"] == "fast"].set_index(["method", "pairing", "pair"])
    kd = asym.loc[("kd", "random", "R-R")]
    shared = np.mean(_oa(n, 0, 1)) - np.mean(_oa(n, 1, 2))  # paired on the 2 shared seeds, same images
    assert kd["penalty"] == pytest.approx(shared) and bool(kd["paired_images"])
    assert kd["penalty_lo"] <= kd["penalty"] <= kd["penalty_hi"]
    assert ("dkd", "random", "R-R") not in asym.index  # dkd has no oracle run


def test_normaliser_is_frozen_and_aggregate(tmp_path, bench):
    subs, out = tmp_path / "subs", tmp_path / "out"
    plan = {
        **{("kd", "oracle", "R-R", s): 0 for s in range(3)},
        **{("kd", "random", "R-R", s): 2 + s for s in range(3)},
        **{("student", "random", "R-R", s): 10 + s for s in range(3)},
    }
    _submit_plan(tmp_path, bench, plan, subs)
    tables = build(subs, out)
    n = 20
    norm = json.loads((out / "normaliser.json").read_text())
    (task,) = norm["tasks"]
    assert task["student_oa"] == pytest.approx(np.mean(_oa(n, 10, 11, 12))) and task["sckd_oa"] == 1.0
    agg = tables["aggregate"].set_index("method")
    scores = [(o - task["student_oa"]) / (1.0 - task["student_oa"]) for o in _oa(n, 2, 3, 4)]
    assert agg.loc["kd", "iqm"] == pytest.approx(stats.iqm(scores))
    assert agg.loc["kd", "pi_student"] == 1.0 and agg.loc["kd", "mean_rank"] == 1.0
    assert (agg.loc["kd", "tasks"], agg.loc["kd", "tasks_total"]) == (1, 1)
    # a new student seed moves the student mean, but not the frozen anchor
    _submit_plan(tmp_path, bench, {("student", "random", "R-R", 3): 0}, subs, tag="late-")
    build(subs, out)
    assert json.loads((out / "normaliser.json").read_text())["tasks"] == norm["tasks"]


def test_files_csv_parquet_and_plots(built):
    _, out, _, tables = built
    csv = pd.read_csv(out / "leaderboard.csv")
    assert len(csv) == len(tables["cells"]) == 7
    assert {"oa_mean", "oa_lo", "oa_hi", "n", "mark", "ranked", "variant", "config_hash"} <= set(csv.columns)
    assert set(pd.read_csv(out / "paired.csv")["vs"]) == {"kd", "student"}
    runs = pd.read_parquet(out / "submissions.parquet")
    assert len(runs) == len(PLAN) + 1
    for key in ("w2_prob", "gw", "pair_cost", "w2_embed_diag"):  # every run records every transport cost
        assert runs[key].notna().all(), key
    assert runs.loc[runs["protocol"] == "ACKD", "pair_cost_sckd"].notna().all()
    assert (csv["pair_cost_mean"] >= csv["w2_prob_mean"]).all()
    confusion = pd.read_csv(out / "confusion.csv")
    per_run = confusion.groupby(["method", "pairing", "pair", "config_hash", "seed"])["count"].sum()
    assert set(per_run) == {20}
    pc = pd.read_csv(out / "per_class.csv")
    assert (pc["acc_lo"] <= pc["acc"] + 1e-12).all() and (pc["acc"] <= pc["acc_hi"] + 1e-12).all()
    pngs = sorted(p.name for p in (out / "plots").iterdir())
    assert pngs == [
        "eurosat-sample_oa_ci.png",
        "eurosat-sample_oa_vs_w.png",
        "eurosat-sample_per_class.png",
        "eurosat-sample_transport_epochs.png",
    ]
    assert all((out / "plots" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerun_is_byte_identical(built, tmp_path):
    subs, _, _, _ = built
    build(subs, tmp_path / "a")
    res = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(subs), "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    a, b = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name] == b[name], name
    html = a["index.html"].decode()
    assert "http://" not in html and "https://" not in html and "<link" not in html and ' src="http' not in html


def test_release_snapshot_is_immutable_and_linked(built, tmp_path):
    subs, _, _, _ = built
    out = tmp_path / "o"
    res = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(subs), "--out", str(out), "--release", "v1.0"])
    assert res.exit_code == 0, res.output
    rel = out / "releases" / "v1.0"
    assert sorted(p.name for p in rel.iterdir()) == [
        "README.md",
        "aggregate.csv",
        "asymmetry.csv",
        "leaderboard.csv",
        "normaliser.json",
        "paired.csv",
        "submissions.sha256",
    ]
    assert len((rel / "submissions.sha256").read_text().splitlines()) == 2 * (len(PLAN) + 1)
    assert 'href="releases/v1.0/README.md"' in (out / "index.html").read_text()
    before = _snapshot(rel)
    again = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(subs), "--out", str(out), "--release", "v1.0"])
    assert again.exit_code == 2 and "immutable" in again.output and _snapshot(rel) == before
    bad = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(subs), "--out", str(out), "--release", "latest"])
    assert bad.exit_code == 2 and "expected a version" in bad.output


def test_empty_submissions(tmp_path):
    tables = build(tmp_path / "none", tmp_path / "out")
    assert tables["runs"].empty
    assert "No submissions yet." in (tmp_path / "out" / "README.md").read_text()
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "plots").is_dir()


def test_leaderboard_refuses_an_invalid_folder(tmp_path):
    bad = tmp_path / "subs"
    bad.mkdir()
    (bad / "stray.txt").write_text("x")
    res = CliRunner().invoke(cli, ["leaderboard", "--submissions", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "stray.txt: unexpected file" in res.output
    assert not (tmp_path / "o").exists()


def test_declared_sckd_reference_and_paper_column(tmp_path, bench):
    """A card declaring its paired sibling (`sckd_reference`) and the paper dataset it reproduces."""
    import shutil

    ackd, paired = tmp_path / "ackd", tmp_path / "paired"
    shutil.copytree(bench, ackd)
    shutil.copytree(bench, paired)
    card = json.loads((bench / "benchmark.json").read_text())
    (ackd / "benchmark.json").write_text(
        json.dumps({**card, "sckd_reference": f"{card['name']}-paired", "paper_dataset": "S2S-EU"})
    )
    (paired / "benchmark.json").write_text(json.dumps({**card, "name": f"{card['name']}-paired"}))
    subs = tmp_path / "subs"
    plan = {
        ("student", "random"): (10, 11, 12),
        ("kd", "random"): (4, 5, 6),
        ("kd", "oracle"): (3, 3, 3),
        ("sembridge", "ssm"): (2, 3, 4),
    }
    for (method, pairing), wrongs in plan.items():
        for seed, wrong in enumerate(wrongs):
            submit(
                fx.make_run(
                    tmp_path / "runs" / f"{method}-{pairing}-{seed}",
                    ackd,
                    method=method,
                    pairing=pairing,
                    seed=seed,
                    wrong=wrong,
                ),
                subs,
                benchmark=ackd,
            )
    for seed, wrong in enumerate((0, 0, 1)):
        submit(
            fx.make_run(
                tmp_path / "runs" / f"paired-{seed}", paired, method="kd", pairing="oracle", seed=seed, wrong=wrong
            ),
            subs,
            benchmark=paired,
        )
    tables = build(subs, tmp_path / "out")
    n = 20
    cells = tables["cells"].set_index(["benchmark", "method", "pairing"])
    name = card["name"]
    assert cells.loc[(name, "kd", "oracle"), "protocol"] == "paired-unseen"
    assert cells.loc[(f"{name}-paired", "kd", "oracle"), "protocol"] == "SCKD"
    asym = tables["asymmetry"].set_index(["benchmark", "method", "pairing"])
    kd = asym.loc[(name, "kd", "random")]
    assert kd["reference_benchmark"] == f"{name}-paired" and bool(kd["paired_images"])
    assert kd["penalty"] == pytest.approx(np.mean(_oa(n, 0, 0, 1)) - np.mean(_oa(n, 4, 5, 6)))
    (task,) = tables["normaliser"]["tasks"]
    assert task["sckd_oa"] == pytest.approx(np.mean(_oa(n, 0, 0, 1)))
    assert task["sckd_cell"].startswith(f"{name}-paired/kd/oracle/R-R/")
    assert cells.loc[(name, "student", "random"), "paper_oa"] == 91.7
    assert cells.loc[(name, "sembridge", "ssm"), "paper_oa"] == 93.7
    assert math.isnan(cells.loc[(name, "kd", "random"), "paper_oa"])
    assert math.isnan(cells.loc[(f"{name}-paired", "kd", "oracle"), "paper_oa"])
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "paper (R-R)" in readme and "| student | random | fast | " in readme and "| 91.7 |" in readme


def test_shared_variant_names_get_their_hash():
    from ackd_bench.report.aggregate import _unique_variants

    runs = pd.DataFrame(
        {
            "benchmark": ["b"] * 3,
            "method": ["kd"] * 3,
            "pairing": ["random"] * 3,
            "pair": ["R-R", "R-R", "R-S"],
            "variant": ["T2"] * 3,
            "config_hash": ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc"],
        }
    )
    assert list(_unique_variants(runs)["variant"]) == ["T2 [aaaaaaaa]", "T2 [bbbbbbbb]", "T2"]
