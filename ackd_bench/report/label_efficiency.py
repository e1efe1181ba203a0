"""Label efficiency: student test OA against the fraction of the student train split it was trained on.

Runs on a fraction F < 1 come from `run --train-fraction F` on a benchmark built with
`build-dataset --train-fractions` (nested, class-stratified subsets; docs/datasets.md); runs without the
key count as F = 1. One row per (benchmark, method, pairing, pair, fraction): the mean of the per-seed test
OAs and a confidence interval from `stats.hierarchical_bootstrap_ci` over the runs' per-sample test
correctness (seeds, then test samples, resampled), plus every seed's OA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.report.aggregate import KEY as CELL_KEY
from ackd_bench.report.aggregate import pair_sort_key
from ackd_bench.report.stats import hierarchical_bootstrap_ci

KEY = [k for k in CELL_KEY if k != "config_hash"]  # a curve spans configs that differ only in train_fraction
COLUMNS = KEY + ["config", "train_fraction", "n", "seeds", "oa_mean", "ci_lo", "ci_hi", "seed_oa"]
LEVEL = 0.95


def _correct(root: Path, rel: str) -> np.ndarray:
    """Per-sample test correctness (label == prediction) of one submitted run."""
    df = pd.read_parquet(root / rel / "predictions.parquet", columns=["sample_id", "label", "prediction"])
    df = df.sort_values("sample_id", kind="stable")
    return (df["label"].to_numpy() == df["prediction"].to_numpy()).astype(np.float64)


def _curve_config(root: Path, rel: str) -> str:
    """The run's config identity with its train fraction left out (one curve per configuration)."""
    from ackd_bench.io import read_json
    from ackd_bench.report.identity import identity_hash

    config = dict(read_json(root / rel / "result.json").get("config") or {})
    config.pop("train_fraction", None)
    return identity_hash(config)


def _ci(correct_by_seed: dict[int, np.ndarray]) -> tuple[float, float]:
    """The (lo, hi) OA interval at LEVEL, as fractions (stats returns percent)."""
    _, lo, hi = hierarchical_bootstrap_ci(correct_by_seed, level=LEVEL, seed=0)
    return lo / 100.0, hi / 100.0


def table(fraction_runs: pd.DataFrame, root: str | Path) -> pd.DataFrame:
    """OA per cell and train fraction (see the module docstring); empty when no run used a fraction < 1."""
    if fraction_runs.empty or not (fraction_runs["train_fraction"] < 1.0).any():
        return pd.DataFrame(columns=COLUMNS)
    root = Path(root)
    rows = []
    runs = fraction_runs.assign(config=[_curve_config(root, rel) for rel in fraction_runs["path"]])
    # curves with at least one fraction < 1 (a configuration never run on fractions would be a single point)
    curves = runs[runs["train_fraction"] < 1.0][KEY + ["config"]].drop_duplicates()
    runs = runs.merge(curves, on=KEY + ["config"])
    for key, g in runs.groupby(KEY + ["config", "train_fraction"], sort=True):
        g = g.sort_values("seed")
        correct = {int(s): _correct(root, rel) for s, rel in zip(g["seed"], g["path"])}
        lo, hi = _ci(correct)
        rows.append(
            {
                **dict(zip(KEY + ["config", "train_fraction"], key)),
                "n": len(g),
                "seeds": ",".join(str(s) for s in g["seed"]),
                "oa_mean": float(g["test_oa"].mean()),
                "ci_lo": lo,
                "ci_hi": hi,
                "seed_oa": ",".join(f"{v:.6f}" for v in g["test_oa"]),
            }
        )
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = out.assign(_p=out["pair"].map(pair_sort_key)).sort_values(
        ["benchmark", "method", "pairing", "_p", "config", "train_fraction"]
    )
    return order.drop(columns="_p").reset_index(drop=True)


def plot(curves: pd.DataFrame) -> bytes:
    """OA (%) vs train fraction (log axis) for one benchmark: a line per method / pairing / pair through the
    seed means, the CI as a band, every seed's OA as a dot."""
    import matplotlib.pyplot as plt

    from ackd_bench.report.plots import PAIRING_STYLE, STYLE, _png, method_colour

    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        groups = sorted(
            curves.groupby(["method", "pairing", "pair", "config"], sort=True),
            key=lambda kv: (kv[0][0], kv[0][1], pair_sort_key(kv[0][2]), kv[0][3]),
        )
        several = curves.groupby(["method", "pairing", "pair"])["config"].nunique().to_dict()
        for (method, pairing, pair, config), g in groups:
            colour = method_colour(method)  # the leaderboard's colour; line style per pairing
            g = g.sort_values("train_fraction")
            x = g["train_fraction"].to_numpy()
            label = f"{method} / {pairing} / {pair}" + (
                f" [{config[:8]}]" if several[(method, pairing, pair)] > 1 else ""
            )
            ax.plot(x, 100 * g["oa_mean"], PAIRING_STYLE.get(pairing, "-"), marker="o", ms=3, color=colour, label=label)
            ax.fill_between(x, 100 * g["ci_lo"], 100 * g["ci_hi"], color=colour, alpha=0.15, lw=0)
            for f, seed_oa in zip(x, g["seed_oa"]):
                ys = [100 * float(v) for v in seed_oa.split(",")]
                ax.plot([f] * len(ys), ys, ".", ms=2, color=colour, alpha=0.6)
        ax.set_xscale("log")
        ticks = sorted(curves["train_fraction"].unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("fraction of the student train split")
        ax.set_ylabel(f"student test OA % (band: {int(LEVEL * 100)}% CI)")
        ax.legend(fontsize=6, loc="lower right")
        fig.tight_layout()
        return _png(fig)


HTML_COLUMNS = [
    ("benchmark", "benchmark", "text"),
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("pair", "pair", "text"),
    ("config", "config", "text"),
    ("train fraction", "train_fraction", "num"),
    ("n", "n", "int"),
    ("seeds", "seeds", "text"),
    ("OA %", "oa_mean", "pct"),
    ("CI low %", "ci_lo", "pct"),
    ("CI high %", "ci_hi", "pct"),
]


def images(curves: pd.DataFrame) -> dict[str, bytes]:
    """{"<benchmark>_label_efficiency.png": PNG} for every benchmark in `curves`."""
    from ackd_bench.report.submit import safe_component

    return {
        f"{safe_component(b) or 'benchmark'}_label_efficiency.png": plot(curves[curves["benchmark"] == b])
        for b in sorted(curves["benchmark"].unique())
    }
