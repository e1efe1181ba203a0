"""The study's numbers, every one computed from submitted run records (result.json + predictions.parquet).

- cells: per (benchmark, method) the mean test OA over seeds (best-val checkpoint) with the leaderboard's 95%
  CI (hierarchical bootstrap: seeds, then test images within each seed), the teacher's test OA and the
  transport costs at the end of training (means over seeds).
- penalty: the asymmetry penalty of a method at a level = its OA on the SCKD reference minus its OA at the
  level. The two cells have different test images, so its CI is the normal approximation
  +-sqrt(h_sckd^2 + h_level^2) from the two cells' half-widths.
- gain: a method's OA minus the student-only baseline's at the same level: shared seeds and test images, so
  its CI is the hierarchical bootstrap of the per-image difference (correct_method - correct_student).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.errors import AckdError
from ackd_bench.io import read_json
from ackd_bench.study.spec import SCKD_NAME, StudySpec

# transport cost keys in result.json["transport"] (issue 11 §5); older records hold only `mean`, the W2
# between L2-normalised embeddings, which is the diagnostic `w2_embed_diag`
COST_KEYS = ("w2_prob", "gw", "pair_cost", "w2_embed_diag")
COST_LABELS = {"w2_prob": "W2 between class-probability vectors", "gw": "Gromov-Wasserstein (embeddings)",
               "pair_cost": "cost of the actual pairs (probability space)",
               "w2_embed_diag": "W2 between embeddings (diagnostic)"}
N_RESAMPLES = 2000
LEVEL = 0.95

try:  # the leaderboard's statistics (issue 12); the study uses exactly what the leaderboard computes
    from ackd_bench.report.stats import hierarchical_bootstrap_ci
except ImportError:  # pragma: no cover - until report/stats.py lands
    def hierarchical_bootstrap_ci(correct_by_seed: Mapping[int, np.ndarray], n_resamples: int = 2000,
                                  level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
        """(mean, lo, hi): resample seeds with replacement, then test images within each seed; percentile CI."""
        rng = np.random.default_rng(seed)
        keys = sorted(correct_by_seed)
        per_seed = []
        for k in keys:
            x = np.asarray(correct_by_seed[k], dtype=float)
            per_seed.append(x[rng.integers(0, len(x), size=(n_resamples, len(x)))].mean(axis=1))
        boot = np.stack(per_seed, axis=1)  # (R, S)
        pick = rng.integers(0, len(keys), size=(n_resamples, len(keys)))
        means = np.take_along_axis(boot, pick, axis=1).mean(axis=1)
        alpha = (1 - level) / 2
        mean = float(np.mean([np.mean(correct_by_seed[k]) for k in keys]))
        return mean, float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


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


def load_runs(spec: StudySpec, submissions: str | Path, benchmarks: dict[str, Path]) -> pd.DataFrame:
    """One row per submitted run of this study (its benchmarks as built, its methods, pair and seeds).

    Records of another build of the same benchmark names (different manifests) are not this study's and are
    ignored; a missing run is an error naming the submissions folder.
    """
    from ackd_bench.report.submit import safe_component

    submissions = Path(submissions)
    level_of = {name: c for c, name in spec.level_names.items()} | {SCKD_NAME: math.nan}
    rows, missing = [], []
    for name, folder in benchmarks.items():
        sums = read_json(folder / "benchmark.json")["manifests_sha256"]
        for method in spec.methods:
            for seed in spec.seeds:
                found = sorted((submissions / name / method).glob(f"*/{safe_component(spec.pair)}/seed{seed}/result.json"))
                records = [(p.parent, read_json(p)) for p in found]
                records = [(d, r) for d, r in records if r["benchmark"]["manifests_sha256"] == sums]
                if len(records) != 1:
                    missing.append(f"{name}/{method}/seed{seed}" + (" (several pairings)" if records else ""))
                    continue
                run_dir, r = records[0]
                rows.append({"benchmark": name, "level": level_of[name], "protocol": "SCKD" if name == SCKD_NAME else "ACKD",
                             "method": method, "pairing": r["pairing"], "pair": r["pair"], "seed": seed,
                             "test_oa": float(r["metrics"]["test_oa_best_val"]),
                             "teacher_test_oa": float(r["metrics"]["teacher_test_oa"] or math.nan),
                             "best_val_epoch": int(r["metrics"]["best_val_epoch"]),
                             **costs_of(r.get("transport")),
                             "correct": _correct(run_dir), "record": run_dir.relative_to(submissions).as_posix()})
    if missing:
        raise AckdError(f"{len(missing)} study run(s) not submitted here, e.g. {missing[0]}", submissions)
    return pd.DataFrame(rows)


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (benchmark, method): n seeds, n test images, mean OA with the 95% CI, teacher OA, mean costs."""
    rows = []
    for (bench, method), g in runs.groupby(["benchmark", "method"], sort=False):
        _mean, lo, hi = hierarchical_bootstrap_ci(dict(zip(g["seed"], g["correct"])), n_resamples=N_RESAMPLES,
                                                 level=LEVEL, seed=0)
        rows.append({"benchmark": bench, "level": g["level"].iloc[0], "protocol": g["protocol"].iloc[0],
                     "method": method, "pairing": g["pairing"].iloc[0], "n_seeds": len(g),
                     "n_test": len(g["correct"].iloc[0]), "oa_mean": float(g["test_oa"].mean()),
                     "ci_lo": lo, "ci_hi": hi, "ci_half": (hi - lo) / 2,
                     "teacher_test_oa": float(g["teacher_test_oa"].mean()),
                     **{k: float(g[k].mean()) for k in COST_KEYS}})
    return pd.DataFrame(rows)


def penalty(cell_df: pd.DataFrame) -> pd.DataFrame:
    """OA on the SCKD reference minus OA at each level, per method (module docstring for its CI)."""
    sckd = cell_df[cell_df["protocol"] == "SCKD"].set_index("method")
    rows = []
    for _, c in cell_df[cell_df["protocol"] == "ACKD"].iterrows():
        if c["method"] not in sckd.index:
            continue
        ref = sckd.loc[c["method"]]
        value = float(ref["oa_mean"] - c["oa_mean"])
        half = math.hypot(ref["ci_half"], c["ci_half"])
        rows.append({"level": c["level"], "method": c["method"], "penalty": value, "ci_lo": value - half,
                     "ci_hi": value + half})
    return pd.DataFrame(rows, columns=["level", "method", "penalty", "ci_lo", "ci_hi"])


def paired_gain(runs: pd.DataFrame, method: str, baseline: str, benchmark: str) -> tuple[float, float, float] | None:
    """OA(method) - OA(baseline) on one benchmark, over shared seeds and test images, with the 95% CI."""
    a = runs[(runs["benchmark"] == benchmark) & (runs["method"] == method)].set_index("seed")["correct"]
    b = runs[(runs["benchmark"] == benchmark) & (runs["method"] == baseline)].set_index("seed")["correct"]
    shared = sorted(set(a.index) & set(b.index))
    if not shared:
        return None
    diffs = {s: a[s].astype(np.int16) - b[s].astype(np.int16) for s in shared}
    return hierarchical_bootstrap_ci(diffs, n_resamples=N_RESAMPLES, level=LEVEL, seed=0)


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
                rows.append({"benchmark": bench, "level": sub["level"].iloc[0], "protocol": sub["protocol"].iloc[0],
                             "method": method, "baseline": baseline, "gain": result[0], "ci_lo": result[1],
                             "ci_hi": result[2]})
    return pd.DataFrame(rows, columns=["benchmark", "level", "protocol", "method", "baseline", "gain", "ci_lo", "ci_hi"])
