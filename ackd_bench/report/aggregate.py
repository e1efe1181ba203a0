"""Read a submissions folder into tables: one row per run, per aggregated cell, per class, per epoch.

Everything is sorted, so the same folder always gives the same tables. "SCKD" = the `oracle` pairing (the
paired tiles); every other pairing protocol is "ACKD".
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.io import read_json

PAIR_ORDER = ["R-R", "M-M", "S-S", "R-M", "R-S", "M-S"]
KEY = ["benchmark", "method", "pairing", "pair"]
BASELINE = "kd"


def record_dirs(root: str | Path) -> list[Path]:
    """Every `<benchmark>/<method>/<pairing>/<pair>/<config hash>/seed<k>` folder holding a result.json, sorted."""
    root = Path(root)
    return sorted(p.parent for p in root.glob("*/*/*/*/*/*/result.json")) if root.is_dir() else []


def pair_sort_key(pair: str) -> tuple[int, str]:
    """The six paper pairs in their fixed order, then custom pairs alphabetically."""
    return (PAIR_ORDER.index(pair), "") if pair in PAIR_ORDER else (len(PAIR_ORDER), pair)


COSTS = ("w2_prob", "gw", "pair_cost", "w2_embed_diag")  # transport record keys (docs/results-schema.md)


def _costs(t: dict | None) -> dict[str, float]:
    """One column per transport cost under the run's pairing and `<key>_sckd` under the SCKD pairs (NaN: absent)."""
    from ackd_bench.report.cost import headline

    own, sckd = headline(t), headline(t, sckd=True)
    return {**own, **{f"{k}_sckd": v for k, v in sckd.items()}}


def load(root: str | Path) -> dict[str, pd.DataFrame]:
    """{"runs", "per_class", "epochs", "fraction_runs"} DataFrames for the submissions under `root`.

    "runs", "per_class" and "epochs" hold the runs on the whole student train split; "fraction_runs" every
    run with its `train_fraction` (report/label_efficiency.py)."""
    runs, per_class, epochs, fraction_runs = [], [], [], []
    root = Path(root)
    for folder in record_dirs(root):
        r = read_json(folder / "result.json")
        ident = {"benchmark": r["benchmark"]["name"], "method": r["method"], "pairing": r["pairing"],
                 "pair": r["pair"], "seed": int(r["seed"])}
        m, t, tm = r["metrics"], r.get("transport"), r["timings"]
        fraction = float(r.get("train_fraction") or 1.0)
        fraction_runs.append({**ident, "train_fraction": fraction, "test_oa": float(m["test_oa_best_val"]),
                              "path": folder.relative_to(root).as_posix()})
        if fraction < 1.0:
            continue
        runs.append({**ident, "benchmark_version": r["benchmark"]["version"],
                     "protocol": "SCKD" if r["pairing"] == "oracle" else "ACKD",
                     "teacher_arch": r["teacher_arch"], "student_arch": r["student_arch"],
                     "test_oa": float(m["test_oa_best_val"]), "test_oa_last": float(m["test_oa_last"]),
                     "test_macro_f1": float(m["test_macro_f1_best_val"]), "best_val_epoch": int(m["best_val_epoch"]),
                     "teacher_test_oa": m["teacher_test_oa"] if m["teacher_test_oa"] is not None else np.nan,
                     **_costs(t), "w_method": (t or {}).get("method") or "", "distill_s": float(tm["distill_s"] or 0.0),
                     "total_s": float(tm["total_s"] or 0.0), "path": folder.relative_to(root).as_posix()})
        for cls, acc in sorted(m["per_class_acc"].items()):
            per_class.append({**ident, "class_name": cls, "acc": float(acc)})
        epochs += _epoch_rows(folder / "metrics.jsonl", ident)
    cols = {"runs": KEY + ["seed"], "per_class": KEY + ["seed", "class_name"], "epochs": KEY + ["seed", "epoch"],
            "fraction_runs": KEY + ["train_fraction", "seed"]}
    frames = {"runs": pd.DataFrame(runs), "per_class": pd.DataFrame(per_class), "epochs": pd.DataFrame(epochs),
              "fraction_runs": pd.DataFrame(fraction_runs)}
    return {k: (df.sort_values(cols[k]).reset_index(drop=True) if len(df) else df) for k, df in frames.items()}


def _epoch_rows(path: Path, ident: dict) -> list[dict]:
    rows = []
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line) if line.strip() else {}
        t = entry.get("transport")
        if isinstance(t, dict) and "epoch" in entry:
            rows.append({**ident, "epoch": int(entry["epoch"]), **_costs(t)})
    return rows


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (benchmark, method, pairing, pair): n, seeds, mean and sample std (ddof=1) over seeds."""
    if runs.empty:
        return pd.DataFrame(columns=KEY + ["n", "seeds", "oa_mean", "oa_std"])
    rows = []
    for key, g in runs.groupby(KEY, sort=True):
        rows.append({**dict(zip(KEY, key)), "benchmark_version": g["benchmark_version"].iloc[0],
                     "protocol": g["protocol"].iloc[0], "n": len(g),
                     "seeds": ",".join(str(s) for s in sorted(g["seed"])),
                     "oa_mean": g["test_oa"].mean(), "oa_std": g["test_oa"].std(ddof=1),
                     "oa_last_mean": g["test_oa_last"].mean(), "f1_mean": g["test_macro_f1"].mean(),
                     "f1_std": g["test_macro_f1"].std(ddof=1),
                     **{f"{k}{s}_mean": g[f"{k}{s}"].mean() for k in COSTS for s in ("", "_sckd")},
                     "distill_s_mean": g["distill_s"].mean(),
                     "total_s_mean": g["total_s"].mean()})
    return pd.DataFrame(rows)


def asymmetry(cell_df: pd.DataFrame) -> pd.DataFrame:
    """SCKD (oracle) mean OA minus each ACKD pairing's mean OA, per benchmark, method and pair."""
    rows = []
    if cell_df.empty:
        return pd.DataFrame(rows)
    oracle = cell_df[cell_df["pairing"] == "oracle"].set_index(["benchmark", "method", "pair"])["oa_mean"]
    for _, c in cell_df[cell_df["pairing"] != "oracle"].iterrows():
        key = (c["benchmark"], c["method"], c["pair"])
        if key in oracle.index:
            rows.append({"benchmark": c["benchmark"], "method": c["method"], "pairing": c["pairing"],
                         "pair": c["pair"], "penalty": oracle[key] - c["oa_mean"]})
    return pd.DataFrame(rows)


def sign_flip_p(diffs: np.ndarray) -> float:
    """Two-sided exact sign-flip permutation p-value of the mean paired difference (all 2^n sign patterns)."""
    diffs = np.asarray(diffs, dtype=float)
    observed = abs(diffs.mean())
    signs = np.array(list(itertools.product([1.0, -1.0], repeat=len(diffs))))
    means = np.abs((signs * diffs).mean(axis=1))
    return float(np.mean(means >= observed - 1e-12))


def paired_vs_baseline(runs: pd.DataFrame, baseline: str = BASELINE, max_n: int = 16) -> pd.DataFrame:
    """Each method vs `baseline` on shared seeds (same benchmark and pair): mean OA difference + p-value.

    The baseline runs under the same pairing; SemBridge's own pairings (ssm, ssm-free), which the baseline
    cannot use, are compared with the baseline under ACKD's default `random` pairing (column
    `baseline_pairing`). At most `max_n` shared seeds are used (the smallest ones) so the exact test stays at
    2^16 patterns.
    """
    rows = []
    if runs.empty:
        return pd.DataFrame(rows)
    base = runs[runs["method"] == baseline].set_index(["benchmark", "pairing", "pair", "seed"])["test_oa"]
    for key, g in runs[runs["method"] != baseline].groupby(KEY, sort=True):
        bench, method, pairing, pair = key
        base_pairing = pairing if pairing in ("random", "random-fixed", "oracle") else "random"
        shared = sorted(s for s in g["seed"] if (bench, base_pairing, pair, s) in base.index)[:max_n]
        if not shared:
            continue
        mine = g.set_index("seed")["test_oa"]
        diffs = np.array([mine[s] - base[(bench, base_pairing, pair, s)] for s in shared])
        rows.append({"benchmark": bench, "method": method, "pairing": pairing, "pair": pair,
                     "baseline_pairing": base_pairing, "n": len(shared),
                     "mean_diff": float(diffs.mean()), "p_value": sign_flip_p(diffs)})
    return pd.DataFrame(rows)
