"""Paired comparisons on the shared test images, tied groups, and the asymmetry penalty (docs/leaderboard.md).

All methods of a benchmark are scored on the same test images, so two cells are compared image by image on
the seeds they share (stats.paired_difference). Significance level: ALPHA, after Holm's correction over the
family stated with each table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ackd_bench.report import stats
from ackd_bench.report.aggregate import KEY, bootstrap_seed

ALPHA = 0.05
BASELINES = ("kd", "student")


def _vectors(correct: dict, key: tuple, ids: pd.Index | None = None) -> dict[int, np.ndarray]:
    return {
        s: (v if ids is None else v.reindex(ids)).to_numpy(dtype=float) for s, v in correct.get(tuple(key), {}).items()
    }


def _ids(correct: dict, key: tuple) -> pd.Index | None:
    runs = correct.get(tuple(key))
    return next(iter(runs.values())).index if runs else None


def compare_cells(correct: dict, key_a: tuple, key_b: tuple) -> stats.PairedResult | None:
    """Cell a vs cell b on their shared seeds and the test images both scored (None: no shared seed)."""
    ids_a, ids_b = _ids(correct, key_a), _ids(correct, key_b)
    if ids_a is None or ids_b is None:
        return None
    ids = ids_a if ids_a.equals(ids_b) else ids_a.intersection(ids_b).sort_values()
    a, b = _vectors(correct, key_a, ids), _vectors(correct, key_b, ids)
    if not set(a) & set(b) or len(ids) == 0:
        return None
    return stats.paired_difference(a, b, seed=bootstrap_seed(*key_a, *key_b))


def _key(row: pd.Series | dict) -> tuple:
    return tuple(row[k] for k in KEY)


class References:
    """Default-variant cells indexed by (benchmark, pair, method, pairing), for picking comparison references."""

    def __init__(self, cells: pd.DataFrame):
        default = cells[cells["default_variant"].astype(bool)] if len(cells) else cells
        self.groups = (
            {k: g for k, g in default.groupby(["benchmark", "pair", "method", "pairing"], sort=True)}
            if len(default)
            else {}
        )

    def pick(self, like: pd.Series, benchmark: str, method: str, pairings: tuple[str, ...]) -> pd.Series | None:
        """The cell of `method` at its default hyper-parameters on (benchmark, like's pair) under the first
        pairing of `pairings` that exists; among several, the one trained under `like`'s recipe, then with
        `like`'s teacher recipe, then `like`'s profile, then the most seeds."""
        for pairing in pairings:
            cand = self.groups.get((benchmark, like["pair"], method, pairing))
            if cand is not None and len(cand):
                if len(cand) == 1:
                    return cand.iloc[0]
                order = cand.assign(
                    _r=cand["recipe"] != like.get("recipe", ""),
                    _t=cand["teacher_recipe"] != like["teacher_recipe"],
                    _p=cand["profile"] != like["profile"],
                    _n=-cand["n"],
                )
                return order.sort_values(["_r", "_t", "_p", "_n", "config_hash"]).iloc[0]
        return None


def pick_reference(
    cells: pd.DataFrame, like: pd.Series, benchmark: str, method: str, pairings: tuple[str, ...]
) -> pd.Series | None:
    """`References(cells).pick(...)` for a single look-up."""
    return References(cells).pick(like, benchmark, method, pairings)


def _baseline_pairings(baseline: str, pairing: str) -> tuple[str, ...]:
    if baseline == "student":  # trains without a teacher: its pairing is irrelevant
        return ("random", "oracle", "ssm", "ssm-free")
    return (pairing, "random") if pairing in ("random", "oracle") else ("random",)


def paired_table(cells: pd.DataFrame, correct: dict) -> pd.DataFrame:
    """Every cell vs `kd` and vs `student` (their default variants, same benchmark and pair; `kd` under the same
    pairing where it can use it, else `random`): mean OA difference (points) with its paired bootstrap 95% CI,
    the combined McNemar p, its Holm-adjusted value over the whole table, and the sign-flip p over seeds."""
    rows, refs = [], References(cells)
    for _, c in cells.iterrows():
        for baseline in BASELINES:
            ref = refs.pick(c, c["benchmark"], baseline, _baseline_pairings(baseline, c["pairing"]))
            if ref is None or _key(ref) == _key(c):
                continue
            r = compare_cells(correct, _key(c), _key(ref))
            if r is None:
                continue
            rows.append(
                {
                    **{k: c[k] for k in KEY},
                    "variant": c["variant"],
                    "vs": baseline,
                    "vs_pairing": ref["pairing"],
                    "vs_config_hash": ref["config_hash"],
                    "vs_variant": ref["variant"],
                    "same_recipe": ref["recipe"] == c["recipe"],
                    "n_seeds": r.n_seeds,
                    "n_images": r.n_images,
                    "diff": r.mean_diff / 100,
                    "diff_lo": r.lo / 100,
                    "diff_hi": r.hi / 100,
                    "p_mcnemar": r.p_mcnemar,
                    "p_sign_flip": r.p_sign_flip,
                }
            )
    df = pd.DataFrame(rows)
    if len(df):
        df["p_holm"] = stats.holm(df["p_mcnemar"].to_numpy())
        df["significant"] = df["p_holm"] < ALPHA
    return df


def tied_groups(cells: pd.DataFrame, correct: dict) -> pd.DataFrame:
    """`cells` with `mark` per column (benchmark, pair) among the ranked cells: "best" when the top mean is
    significantly above every other ranked cell (paired McNemar test, Holm over that column's comparisons),
    else "tied" for the top cell and every cell not resolved from it; `group_p` = the Holm p vs the top cell."""
    out = cells.assign(mark="", group_p=np.nan, tied_with=0)
    ranked = out[out["ranked"].astype(bool)]
    for _, col in ranked.groupby(["benchmark", "pair"], sort=True):
        if len(col) < 2:
            continue
        col = col.sort_values(["oa_mean", "config_hash"], ascending=[False, True])
        top = col.iloc[0]
        pvals = []
        for _, other in col.iloc[1:].iterrows():
            r = compare_cells(correct, _key(top), _key(other))
            pvals.append(1.0 if r is None else r.p_mcnemar)
        adjusted = stats.holm(pvals)
        tied = [idx for idx, p in zip(col.index[1:], adjusted) if not p < ALPHA]
        out.loc[col.index[1:], "group_p"] = adjusted
        if tied:
            out.loc[[col.index[0], *tied], "mark"] = "tied"
            out.loc[[col.index[0], *tied], "tied_with"] = len(tied) + 1
        else:
            out.loc[col.index[0], "mark"] = "best"
    return out


def asymmetry(cells: pd.DataFrame, correct: dict) -> pd.DataFrame:
    """Per ACKD cell: OA of the same method's default-variant `oracle` cell on the SCKD reference benchmark (the
    card's `sckd_reference`, else the same benchmark) minus the cell's OA, with a 95% CI (paired on shared
    test images when both builds score the same images, else independent bootstraps)."""
    rows, refs = [], References(cells)
    for _, c in cells[cells["protocol"] == "ACKD"].iterrows():
        ref_bench = c["sckd_reference"] or c["benchmark"]
        ref = refs.pick(c, ref_bench, c["method"], ("oracle",))
        if ref is None:
            continue
        a, b = _vectors(correct, _key(ref)), _vectors(correct, _key(c))
        if _ids(correct, _key(ref)).equals(_ids(correct, _key(c))):
            r = stats.paired_difference(a, b, seed=bootstrap_seed("asym", *_key(c))) if set(a) & set(b) else None
            d, lo, hi = (r.mean_diff, r.lo, r.hi) if r else (np.nan, np.nan, np.nan)
            paired = r is not None
        else:
            paired = False
        if not paired:
            d, lo, hi = stats.difference_ci(a, b, seed=bootstrap_seed("asym", *_key(c)))
        rows.append(
            {
                **{k: c[k] for k in KEY},
                "variant": c["variant"],
                "reference_benchmark": ref_bench,
                "reference_config_hash": ref["config_hash"],
                "penalty": d / 100,
                "penalty_lo": lo / 100,
                "penalty_hi": hi / 100,
                "paired_images": paired,
            }
        )
    return pd.DataFrame(rows)
