"""The study's numbers, every one computed from submitted run records (result.json + predictions.parquet).

- cells: per (benchmark, method) the mean test OA over seeds (best-val checkpoint) with the leaderboard's 95%
  CI (hierarchical bootstrap: seeds, then test images within each seed), the teacher's test OA and the
  transport costs at the end of training (means over seeds).
- penalty: the asymmetry penalty of a method at a level = its OA on the SCKD reference minus its OA at the
  level. The two cells have different test images, so its CI comes from two independent hierarchical
  bootstraps (`report.stats.difference_ci`).
- gain: a method's OA minus the student-only baseline's at the same level: shared seeds and test images, so
  it is the leaderboard's paired comparison: hierarchical bootstrap CI of the per-image difference and the
  exact McNemar p per seed, combined over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.errors import AckdError
from ackd_bench.io import read_json
from ackd_bench.report.stats import difference_ci, hierarchical_bootstrap_ci, paired_difference
from ackd_bench.study.spec import SCKD_NAME, StudySpec

# transport cost keys in result.json["transport"] (issue 11 §5); older records hold only `mean`, the W2
# between L2-normalised embeddings, which is the diagnostic `w2_embed_diag`
COST_KEYS = ("w2_prob", "gw", "pair_cost", "w2_embed_diag")
COST_LABELS = {
    "w2_prob": "W2 between class-probability vectors",
    "gw": "Gromov-Wasserstein (embeddings)",
    "pair_cost": "cost of the actual pairs (probability space)",
    "w2_embed_diag": "W2 between embeddings (diagnostic)",
}
N_RESAMPLES = 2000
LEVEL = 0.95


def bootstrap_ci(correct_by_seed: Mapping[int, np.ndarray]) -> tuple[float, float, float]:
    """(mean OA, lo, hi) as fractions: the leaderboard's hierarchical bootstrap CI."""
    mean, lo, hi = hierarchical_bootstrap_ci(correct_by_seed, n_resamples=N_RESAMPLES, level=LEVEL, seed=0)
    return mean / 100, lo / 100, hi / 100


def _cost(value) -> float:
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def costs_of(transport: dict | None) -> dict[str, float]:
    """The cost keys of a result.json `transport` entry (NaN when absent), tolerant of the older layout."""
    t = transport or {}
    out = {k: _cost(t.get(k)) for k in COST_KEYS}
    if math.isnan(out["w2_embed_diag"]) and not any(k in t for k in COST_KEYS):
        out["w2_embed_diag"] = _cost(t.get("mean"))
    return out


def _correct(run_dir: Path) -> np.ndarray:
    df = pd.read_parquet(run_dir / "predictions.parquet", columns=["sample_id", "label", "prediction"])
    df = df.sort_values("sample_id")
    return (df["prediction"].to_numpy() == df["label"].to_numpy()).astype(np.int8)


def load_runs(spec: StudySpec, submissions: str | Path, sweep_cells: list) -> pd.DataFrame:
    """One row per study cell, read from the cell's SUBMITTED record in `submissions` (not the run folder).

    A cell whose submitted copy is missing or differs from its run's record is an error naming the folder.
    """
    from ackd_bench.study.runner import same_record, submitted_dir

    submissions = Path(submissions)
    level_of = {name: c for c, name in spec.level_names.items()} | {SCKD_NAME: math.nan}
    rows = []
    for cell in sweep_cells:
        folder = submitted_dir(cell.run_dir, submissions)
        if not same_record(cell.run_dir, folder):
            raise AckdError(f"the submitted record of {cell.rel_dir} is missing or differs from the run", folder)
        r = read_json(folder / "result.json")
        name = r["benchmark"]["name"]
        rows.append(
            {
                "benchmark": name,
                "level": level_of[name],
                "protocol": "SCKD" if name == SCKD_NAME else "ACKD",
                "method": r["method"],
                "pairing": r["pairing"],
                "pair": r["pair"],
                "seed": int(r["seed"]),
                "test_oa": float(r["metrics"]["test_oa_best_val"]),
                "teacher_test_oa": float(r["metrics"]["teacher_test_oa"] or math.nan),
                "best_val_epoch": int(r["metrics"]["best_val_epoch"]),
                **costs_of(r.get("transport")),
                "correct": _correct(folder),
                "record": folder.relative_to(submissions).as_posix(),
            }
        )
    order = {name: i for i, name in enumerate([*spec.level_names.values(), SCKD_NAME])}
    df = pd.DataFrame(rows)
    df["_b"], df["_m"] = df["benchmark"].map(order), df["method"].map({m: i for i, m in enumerate(spec.methods)})
    return df.sort_values(["_b", "_m", "seed"]).drop(columns=["_b", "_m"]).reset_index(drop=True)


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (benchmark, method): n seeds, n test images, mean OA with the 95% CI, teacher OA, mean costs."""
    rows = []
    for (bench, method), g in runs.groupby(["benchmark", "method"], sort=False):
        _mean, lo, hi = bootstrap_ci(dict(zip(g["seed"], g["correct"])))
        rows.append(
            {
                "benchmark": bench,
                "level": g["level"].iloc[0],
                "protocol": g["protocol"].iloc[0],
                "method": method,
                "pairing": g["pairing"].iloc[0],
                "n_seeds": len(g),
                "n_test": len(g["correct"].iloc[0]),
                "oa_mean": float(g["test_oa"].mean()),
                "ci_lo": lo,
                "ci_hi": hi,
                "ci_half": (hi - lo) / 2,
                "teacher_test_oa": float(g["teacher_test_oa"].mean()),
                **{k: float(g[k].mean()) for k in COST_KEYS},
            }
        )
    return pd.DataFrame(rows)


def penalty(cell_df: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """OA on the SCKD reference minus OA at each level, per method, with the 95% CI of the difference of two
    independent hierarchical bootstraps (the two builds share no test images)."""
    sckd = cell_df[cell_df["protocol"] == "SCKD"].set_index("method")
    rows = []
    for _, c in cell_df[cell_df["protocol"] == "ACKD"].iterrows():
        if c["method"] not in sckd.index:
            continue
        ref = _by_seed(runs, sckd.loc[c["method"], "benchmark"], c["method"])
        value, lo, hi = independent_difference(ref, _by_seed(runs, c["benchmark"], c["method"]))
        rows.append({"level": c["level"], "method": c["method"], "penalty": value, "ci_lo": lo, "ci_hi": hi})
    return pd.DataFrame(rows, columns=["level", "method", "penalty", "ci_lo", "ci_hi"])


def _by_seed(runs: pd.DataFrame, benchmark: str, method: str) -> dict[int, np.ndarray]:
    g = runs[(runs["benchmark"] == benchmark) & (runs["method"] == method)]
    return dict(zip(g["seed"], g["correct"]))


def independent_difference(a: Mapping[int, np.ndarray], b: Mapping[int, np.ndarray]) -> tuple[float, float, float]:
    """(OA(a) - OA(b), lo, hi) as fractions for two cells on different test images."""
    d, lo, hi = difference_ci(a, b, n_resamples=N_RESAMPLES, level=LEVEL, seed=0)
    return d / 100, lo / 100, hi / 100


def paired_gain(
    runs: pd.DataFrame, method: str, baseline: str, benchmark: str
) -> tuple[float, float, float, float] | None:
    """(OA(method) - OA(baseline), lo, hi, McNemar p) on one benchmark, shared seeds and test images, as
    fractions; the leaderboard's paired comparison (`report.stats.paired_difference`)."""
    a = runs[(runs["benchmark"] == benchmark) & (runs["method"] == method)].set_index("seed")["correct"]
    b = runs[(runs["benchmark"] == benchmark) & (runs["method"] == baseline)].set_index("seed")["correct"]
    if not set(a.index) & set(b.index):
        return None
    r = paired_difference(a.to_dict(), b.to_dict(), n_resamples=N_RESAMPLES, level=LEVEL, seed=0)
    return r.mean_diff / 100, r.lo / 100, r.hi / 100, float(r.p_mcnemar)


def gains(runs: pd.DataFrame, baseline: str = "student") -> pd.DataFrame:
    """Every other method against `baseline` at every level and on the SCKD reference."""
    rows = []
    for bench in dict.fromkeys(runs["benchmark"]):
        sub = runs[runs["benchmark"] == bench]
        for method in dict.fromkeys(sub["method"]):
            if method == baseline:
                continue
            result = paired_gain(runs, method, baseline, bench)
            if result is not None:
                rows.append(
                    {
                        "benchmark": bench,
                        "level": sub["level"].iloc[0],
                        "protocol": sub["protocol"].iloc[0],
                        "method": method,
                        "baseline": baseline,
                        "gain": result[0],
                        "ci_lo": result[1],
                        "ci_hi": result[2],
                        "p_mcnemar": result[3],
                    }
                )
    return pd.DataFrame(
        rows, columns=["benchmark", "level", "protocol", "method", "baseline", "gain", "ci_lo", "ci_hi", "p_mcnemar"]
    )
