"""`ackd-bench study asymmetry`: a tiny study end to end through the real CLI, its numbers recomputed from
the submitted records, resume, the power arithmetic, the family build and the README splice."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ackd_bench.study.spec import (
    SCKD_NAME,
    StudySpec,
    level_name,
    needed_test_images,
    per_class_for,
)

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "--levels",
    "1,0",
    "--methods",
    "student,kd",
    "--seeds",
    "0,1",
    "--epochs",
    "1",
    "--teacher-steps",
    "1",
    "--classes",
    "3",
    "--size",
    "16",
    "--per-class",
    "10",
    "--workers",
    "2",
]


def study(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"ACKD_BENCH_CACHE": str(cache)} if cache else {})}
    return subprocess.run(
        [sys.executable, "-m", "ackd_bench", "study", "asymmetry", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("study")
    proc = study("--out", str(root / "study"), *TINY, cache=root / "cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "study", proc.stdout


def test_tiny_study_writes_the_study_folder(tiny_study):
    out, stdout = tiny_study
    for name in (
        "README.md",
        "results.csv",
        "runs.csv",
        "summary.md",
        "study.json",
        "plots/oa_vs_consistency.png",
        "plots/costs_vs_consistency.png",
        "plots/penalty.png",
    ):
        assert (out / name).is_file(), name
    for png in (out / "plots").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (out / "README.md").read_text()
    assert "synthetic, controlled; not a result on real data" in readme
    assert "N >= 1.96^2 * 0.25 / (2 * 0.01^2) = 4802" in readme  # the power arithmetic for 2 seeds
    summary = (out / "summary.md").read_text().splitlines()
    assert len(summary) == 3 and all(line in stdout for line in (s[2:] for s in summary))
    # every run went through `submit` into the study's submissions folder, under its benchmark's name
    records = sorted((out / "submissions").rglob("result.json"))
    # 2 levels x 2 methods x 2 seeds + the SCKD reference x kd x 2 seeds (student-only is not run there: it would
    # repeat the consistency-1 run on the same student images)
    assert len(records) == 2 * 2 * 2 + 2
    assert {p.relative_to(out / "submissions").parts[0] for p in records} == {
        level_name(1.0),
        level_name(0.0),
        SCKD_NAME,
    }
    pairings = {
        (r["method"], r["pairing"], r["benchmark"]["name"]) for r in (json.loads(p.read_text()) for p in records)
    }
    assert ("kd", "oracle", SCKD_NAME) in pairings and ("kd", "random", level_name(0.0)) in pairings
    assert ("student", "oracle", SCKD_NAME) not in pairings


def test_report_numbers_recompute_from_the_records(tiny_study):
    out, _ = tiny_study
    subs = out / "submissions"
    oa, correct = {}, {}
    for path in sorted(subs.rglob("result.json")):
        record = json.loads(path.read_text())
        pred = pd.read_parquet(path.parent / "predictions.parquet").sort_values("sample_id")
        hits = (pred["prediction"] == pred["label"]).to_numpy()
        assert hits.mean() == pytest.approx(record["metrics"]["test_oa_best_val"], abs=1e-9)
        key = (record["benchmark"]["name"], record["method"])
        oa.setdefault(key, []).append(hits.mean())
        correct.setdefault(key, {})[record["seed"]] = hits
    results = pd.read_csv(out / "results.csv")
    assert len(results) == len(oa) == 5
    for row in results.itertuples():
        key = (row.benchmark, row.method)
        assert row.oa_mean == pytest.approx(np.mean(oa[key]), abs=1e-6)
        assert row.n_test == len(correct[key][0]) and row.n_seeds == 2
        assert row.ci_lo <= row.oa_mean + 1e-6 and row.oa_mean <= row.ci_hi + 1e-6
        if row.protocol == "ACKD" and row.method == "student":  # no student-only run on the reference
            assert np.isnan(row.penalty)
        elif row.protocol == "ACKD":  # penalty = the same method's SCKD-reference OA minus this level's OA
            assert row.penalty == pytest.approx(np.mean(oa[(SCKD_NAME, row.method)]) - np.mean(oa[key]), abs=1e-6)
        if row.method == "kd" and row.protocol == "ACKD":  # gain over student-only, same seeds and test images
            assert row.gain == pytest.approx(np.mean(oa[key]) - np.mean(oa[(row.benchmark, "student")]), abs=1e-6)
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 10 and set(runs["record"]) == {
        p.parent.relative_to(subs).as_posix() for p in subs.rglob("result.json")
    }


def test_rerun_resumes_and_rewrites_nothing(tiny_study):
    out, _ = tiny_study
    before = {p: p.stat().st_mtime_ns for p in (out / "submissions").rglob("*") if p.is_file()}
    readme = (out / "README.md").read_bytes()
    plots = {p.name: p.read_bytes() for p in (out / "plots").iterdir()}
    proc = study("--out", str(out), *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "0 to run" in proc.stdout and "submitted" not in proc.stdout
    assert {p: p.stat().st_mtime_ns for p in (out / "submissions").rglob("*") if p.is_file()} == before
    assert (out / "README.md").read_bytes() == readme  # deterministic report
    assert {p.name: p.read_bytes() for p in (out / "plots").iterdir()} == plots


def test_power_arithmetic():
    assert needed_test_images(0.02, 3) == math.ceil(1.959964**2 * 0.25 / (3 * 0.01**2)) == 3202
    n = per_class_for(3202, 4)
    from ackd_bench.data.splits import split_counts

    assert split_counts(n, (0.15, 0.05, 0.8))[2] * 4 >= 3202 > split_counts(n - 1, (0.15, 0.05, 0.8))[2] * 4
    assert StudySpec().images_per_class == n


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--levels", "1,1.5"], "--levels must be distinct consistencies in [0, 1]"),
        (["--seeds", "0,x"], "--seeds expects a comma list of integers"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--classes", "Water,Nope"], "synthetic: classes must be"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, problem):
    proc = study("--out", str(tmp_path / "s"), *args)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and problem in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "args, problem",
    [(["--methods", "kd,nope"], "unknown method 'nope'"), (["--pair", "Z-Z"], "unknown pair 'Z-Z'")],
)
def test_bad_names_fail_before_any_benchmark_is_built(tmp_path, args, problem):
    proc = study("--out", str(tmp_path / "s"), *args)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and problem in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "s" / "work" / "benchmarks").exists()


def test_family_levels_share_the_teacher_pool(tmp_path):
    from ackd_bench.data.benchmark import Benchmark
    from ackd_bench.study.family import build_family

    spec = StudySpec(levels=(1.0, 0.0), size=16, per_class=10, classes="3")
    benches = build_family(spec, tmp_path)
    one, zero, ref = (Benchmark.open(benches[n]) for n in (level_name(1.0), level_name(0.0), SCKD_NAME))
    # `--split-by sources` keeps level 1.0 whole: same teacher pool as level 0.0, no pool split, no SCKD pairs
    assert one.manifests_sha256["teacher.parquet"] == zero.manifests_sha256["teacher.parquet"]
    assert len(one.manifest("teacher")) == len(one.manifest("student")) == 30 and one.sckd_pairs is None
    assert one.manifests_sha256["student.parquet"] != zero.manifests_sha256["student.parquet"]
    assert ref.sckd_pairs is not None and len(ref.sckd_pairs) == 30
    stamp = (benches[level_name(0.0)] / "benchmark.json").stat().st_mtime_ns
    build_family(spec, tmp_path)  # up to date: not rebuilt
    assert (benches[level_name(0.0)] / "benchmark.json").stat().st_mtime_ns == stamp


def test_splice_replaces_only_the_marked_block(tmp_path):
    from ackd_bench.study.splice import BEGIN, END, splice

    study_dir = tmp_path / "leaderboard" / "asymmetry"
    study_dir.mkdir(parents=True)
    (study_dir / "summary.md").write_text("- line one\n- line two\n- line three\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n<!-- study:begin old -->\nstale text\n{END}\n\nrest\n")
    assert splice(readme, study_dir) is True
    text = readme.read_text()
    assert text.startswith("# title\n\n" + BEGIN + "\n![") and text.endswith(f"{END}\n\nrest\n")
    assert "(leaderboard/asymmetry/plots/oa_vs_consistency.png)" in text and "- line three" in text
    assert "stale text" not in text
    assert splice(readme, study_dir) is False
    (tmp_path / "bad.md").write_text("no markers\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ackd_bench.study.splice", str(tmp_path / "bad.md"), str(study_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
