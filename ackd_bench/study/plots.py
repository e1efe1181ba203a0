"""The study's plots as deterministic PNG bytes (the leaderboard's matplotlib style: Agg, fixed font and dpi)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ackd_bench.report.plots import STYLE, _colour, _png, method_colour, plt
from ackd_bench.study.analysis import COST_KEYS, COST_LABELS


def _methods(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["method"]))


def oa_vs_consistency(cells: pd.DataFrame, title: str) -> bytes:
    """Test OA (mean over seeds) vs consistency per method with its 95% CI band; dashed: the same method on
    the SCKD reference (paired data); dotted grey: the teacher's test OA."""
    ackd = cells[cells["protocol"] == "ACKD"].sort_values("level")
    sckd = cells[cells["protocol"] == "SCKD"].set_index("method")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for method in _methods(cells):
            g = ackd[ackd["method"] == method]
            colour = method_colour(method)  # the leaderboard's colour for the method
            if len(g):
                ax.fill_between(g["level"], 100 * g["ci_lo"], 100 * g["ci_hi"], color=colour, alpha=0.18, lw=0)
                ax.plot(g["level"], 100 * g["oa_mean"], "-o", ms=4, color=colour, label=f"{method} (ACKD)")
            if method in sckd.index:
                ax.axhline(
                    100 * sckd.loc[method, "oa_mean"],
                    ls="--",
                    lw=1,
                    color=colour,
                    label=f"{method} on the SCKD reference",
                )
        teacher = ackd.groupby("level")["teacher_test_oa"].mean()
        if teacher.notna().any():
            ax.plot(teacher.index, 100 * teacher.to_numpy(), ":", color="0.4", label="MS teacher (its own test set)")
        ax.set_xlabel("semantic consistency (1 = student images render teacher tiles; 0 = other regions, shifted)")
        ax.set_ylabel("student test OA (%), 95% CI")
        ax.set_xticks(sorted(ackd["level"].unique()))
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        return _png(fig)


def costs_vs_consistency(cells: pd.DataFrame) -> bytes:
    """One panel per transport cost present in the records: mean over seeds vs consistency, per method."""
    ackd = cells[cells["protocol"] == "ACKD"].sort_values("level")
    keys = [k for k in COST_KEYS if ackd[k].notna().any()]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(3.2 * max(1, len(keys)), 3.2), squeeze=False)
        for ax, key in zip(axes[0], keys):
            for method in _methods(cells):
                g = ackd[(ackd["method"] == method) & ackd[key].notna()]
                if len(g):
                    ax.plot(g["level"], g[key], "-o", ms=4, color=method_colour(method), label=method)
            ax.set_title(COST_LABELS[key], fontsize=7)
            ax.set_xlabel("consistency")
            ax.legend(fontsize=6, loc="best")
        if not keys:
            axes[0][0].text(0.5, 0.5, "no transport costs in the records", ha="center", va="center")
            axes[0][0].set_axis_off()
        fig.tight_layout()
        return _png(fig)


def penalty_bars(pen: pd.DataFrame) -> bytes:
    """Asymmetry penalty (SCKD reference OA minus ACKD OA, points) per method, one bar per level, 95% CI."""
    levels = sorted(pen["level"].unique(), reverse=True) if len(pen) else []
    methods = _methods(pen) if len(pen) else []
    width = 0.8 / max(1, len(levels))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.5 + 1.4 * max(1, len(methods)), 3.4))
        for j, level in enumerate(levels):
            g = pen[pen["level"] == level].set_index("method").reindex(methods)
            x = np.arange(len(methods)) + (j - (len(levels) - 1) / 2) * width
            err = 100 * np.vstack([g["penalty"] - g["ci_lo"], g["ci_hi"] - g["penalty"]])
            ax.bar(
                x, 100 * g["penalty"], width, yerr=err, capsize=2, color=_colour(j), label=f"consistency {level:.2f}"
            )
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xticks(np.arange(len(methods)), methods)
        ax.set_ylabel("penalty (OA points): SCKD reference - ACKD")
        if levels:
            ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        return _png(fig)


def all_plots(cells: pd.DataFrame, pen: pd.DataFrame, title: str) -> dict[str, bytes]:
    return {
        "oa_vs_consistency.png": oa_vs_consistency(cells, title),
        "costs_vs_consistency.png": costs_vs_consistency(cells),
        "penalty.png": penalty_bars(pen),
    }
