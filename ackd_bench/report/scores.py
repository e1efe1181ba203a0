"""The aggregate view across benchmarks and pairs, and the paper's reference numbers (docs/leaderboard.md).

Normalised score per (benchmark, pair) task: 0 = `student` (no distillation, default variant), 1 = the SCKD
reference: `kd` with pairing `oracle` (default variant) on the benchmark's declared paired sibling (card field
`sckd_reference`), else on the benchmark itself. The two anchors are frozen in `normaliser.json` next to the
page: a task's anchors are computed once, when it first has both, and never move afterwards (new tasks are
appended), so published scores stay comparable when new runs arrive. A task is frozen only when both anchor
cells have at least MIN_RANKED_SEEDS seeds and the SCKD reference is above `student` (otherwise the scale is
undefined or inverted); until then it is listed under `pending` with the reason, and not aggregated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.io import atomic_write_text
from ackd_bench.report import stats
from ackd_bench.report.aggregate import MIN_RANKED_SEEDS, bootstrap_seed
from ackd_bench.report.compare import References

NORMALISER_FORMAT = 1
# R-R test OA (%) reported by the SemBridge paper (secondary source: sembridge-spec.md §6), per paper dataset
PAPER_OA: dict[tuple[str, str], dict[str, float]] = {
    ("student", "R-R"): {"S2S-EU": 91.7, "S2S-CN": 94.9, "M2S-GL": 94.9},
    ("sembridge", "R-R"): {"S2S-EU": 93.7, "S2S-CN": 96.2, "M2S-GL": 96.6},
    ("sembridge w/o SSM", "R-R"): {"S2S-EU": 92.5, "S2S-CN": 95.3, "M2S-GL": 95.6},
    ("ctkd", "R-R"): {"S2S-EU": 92.5},
    ("lskd", "R-R"): {"S2S-CN": 95.4, "M2S-GL": 95.4},
}


def paper_method(row: pd.Series) -> str | None:
    """The paper's name for a cell's method, or None (SemBridge = `sembridge`; w/o SSM = `sembridge.no_ssm`)."""
    if row["method"] == "sembridge":
        diff = str(row["variant_diff"])
        if row["default_variant"] and row["pairing"] == "ssm":
            return "sembridge"
        return "sembridge w/o SSM" if diff == "sembridge.no_ssm=true" else None
    return row["method"] if row["default_variant"] and row["method"] in ("student", "ctkd", "lskd") else None


def paper_oa(row: pd.Series) -> float:
    """The paper's OA (%) for this cell, only where its benchmark's card declares the paper dataset it reproduces."""
    name = paper_method(row)
    dataset = row.get("paper_dataset") or ""
    if not name or not dataset:
        return np.nan
    return PAPER_OA.get((name, row["pair"]), {}).get(dataset, np.nan)


def _task_anchor(refs: References, bench: str, pair: str, ref_bench: str) -> dict | None:
    like = pd.Series({"pair": pair, "teacher_recipe": "", "profile": ""})
    low = refs.pick(like, bench, "student", ("random", "oracle", "ssm", "ssm-free"))
    high = refs.pick(like, ref_bench, "kd", ("oracle",))
    if low is None or high is None:
        return None
    return {
        "n_min": int(min(low["n"], high["n"])),
        "benchmark": bench,
        "pair": pair,
        "student_oa": float(low["oa_mean"]),
        "sckd_oa": float(high["oa_mean"]),
        "student_cell": f"{bench}/student/{low['pairing']}/{pair}/{low['config_hash']} (n={int(low['n'])})",
        "sckd_cell": f"{ref_bench}/kd/oracle/{pair}/{high['config_hash']} (n={int(high['n'])})",
    }


def normaliser(cells: pd.DataFrame, frozen: dict | None) -> dict:
    """The frozen anchors of `frozen` (normaliser.json as read, or None) plus any task that now has both."""
    tasks = {(t["benchmark"], t["pair"]): t for t in (frozen or {}).get("tasks", [])}
    pending, refs = [], References(cells)
    for (bench, pair), g in cells.groupby(["benchmark", "pair"], sort=True) if len(cells) else []:
        if (bench, pair) in tasks or (g["protocol"] == "ACKD").sum() == 0:
            continue
        anchor = _task_anchor(refs, bench, pair, g["sckd_reference"].iloc[0] or bench)
        if anchor is None:
            pending.append(
                {
                    "benchmark": bench,
                    "pair": pair,
                    "reason": "no default-variant `student` cell or no default-variant kd/oracle SCKD reference cell",
                }
            )
        elif anchor.pop("n_min") < MIN_RANKED_SEEDS:
            pending.append({**anchor, "reason": f"an anchor cell has fewer than {MIN_RANKED_SEEDS} seeds"})
        elif not anchor["sckd_oa"] > anchor["student_oa"]:
            pending.append({**anchor, "reason": "the SCKD reference is not above student: the scale is undefined"})
        else:
            tasks[(bench, pair)] = anchor
    return {
        "format": NORMALISER_FORMAT,
        "definition": "normalised = (OA - student_oa) / (sckd_oa - student_oa); student_oa: mean OA of `student`"
        " (default variant); sckd_oa: mean OA of `kd` with pairing `oracle` (default variant) on "
        "the card's sckd_reference benchmark, else the same benchmark. Frozen once computed.",
        "tasks": [tasks[k] for k in sorted(tasks)],
        "pending": pending,
    }


def read_normaliser(path: Path) -> dict | None:
    """The frozen anchors (normaliser.json); None before the first leaderboard build."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_normaliser(path: Path, norm: dict) -> None:
    atomic_write_text(path, json.dumps(norm, indent=1, sort_keys=True) + "\n")


def normalised_runs(runs: pd.DataFrame, cells: pd.DataFrame, norm: dict) -> pd.DataFrame:
    """The runs of ranked ACKD cells with a `score` column (normalised OA) where their task has anchors."""
    anchors = {(t["benchmark"], t["pair"]): (t["student_oa"], t["sckd_oa"]) for t in norm["tasks"]}
    ranked = cells[cells["ranked"].astype(bool)][["benchmark", "method", "pairing", "pair", "config_hash"]]
    r = runs.merge(ranked, on=list(ranked.columns)) if len(runs) and len(ranked) else runs.iloc[0:0]
    scores = [
        stats.normalised(oa, *anchors[(b, p)]) if (b, p) in anchors else np.nan
        for b, p, oa in zip(r["benchmark"], r["pair"], r["test_oa"])
    ]
    return r.assign(score=scores)


def aggregate_view(runs: pd.DataFrame, cells: pd.DataFrame, norm: dict) -> pd.DataFrame:
    """Per (method, pairing) over its ranked cells: IQM of normalised scores with a task-stratified bootstrap CI,
    P(improvement) over `kd` (random) and over `student`, mean rank with a bootstrap interval, and coverage."""
    scored = normalised_runs(runs, cells, norm)
    scored = scored[scored["score"].notna()] if len(scored) else scored
    n_tasks = len(norm["tasks"])
    if scored.empty:
        return pd.DataFrame(columns=["method", "pairing", "iqm", "iqm_lo", "iqm_hi", "tasks", "tasks_total"])
    by_row: dict[str, dict] = {}
    for (method, pairing), g in scored.groupby(["method", "pairing"], sort=True):
        by_row[f"{method} / {pairing}"] = {
            f"{b}|{p}": h["score"].to_numpy() for (b, p), h in g.groupby(["benchmark", "pair"], sort=True)
        }
    ranks = stats.mean_rank_ci(by_row, seed=bootstrap_seed("rank"))
    rows = []
    for name, tasks in by_row.items():
        method, pairing = name.split(" / ")
        point, lo, hi = stats.iqm_ci(tasks, seed=bootstrap_seed("iqm", name))
        row = {
            "method": method,
            "pairing": pairing,
            "iqm": point,
            "iqm_lo": lo,
            "iqm_hi": hi,
            "runs": int(sum(len(v) for v in tasks.values())),
            "tasks": len(tasks),
            "tasks_total": n_tasks,
            "mean_rank": ranks[name][0],
            "rank_lo": ranks[name][1],
            "rank_hi": ranks[name][2],
        }
        for base, base_name in (("kd", "kd / random"), ("student", "student / random")):
            if base_name in by_row and base_name != name:
                p, plo, phi, n = stats.probability_of_improvement(
                    tasks, by_row[base_name], seed=bootstrap_seed("pi", name, base)
                )
                row.update({f"pi_{base}": p, f"pi_{base}_lo": plo, f"pi_{base}_hi": phi, f"pi_{base}_tasks": n})
            else:
                row.update(
                    {f"pi_{base}": np.nan, f"pi_{base}_lo": np.nan, f"pi_{base}_hi": np.nan, f"pi_{base}_tasks": 0}
                )
        rows.append(row)
    return (
        pd.DataFrame(rows)
        .sort_values(["iqm", "method", "pairing"], ascending=[False, True, True])
        .reset_index(drop=True)
    )
