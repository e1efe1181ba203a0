"""Leaderboard plots as deterministic PNG bytes (matplotlib Agg, fixed font, size and dpi, no metadata)."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

STYLE = {"font.family": "DejaVu Sans", "font.size": 8, "figure.dpi": 100, "savefig.dpi": 100,
         "axes.prop_cycle": matplotlib.cycler(color=matplotlib.colormaps["tab10"].colors),
         "path.simplify": False, "svg.hashsalt": "ackd-bench"}


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _colour(i: int) -> tuple:
    return matplotlib.colormaps["tab10"](i % 10)


def transport_epochs(epochs: pd.DataFrame) -> bytes:
    """Pair-level transport cost per epoch, mean over seeds and pairs: solid = the run's pairing, dashed = SCKD
    pairs; one colour per method (docs/results-schema.md, "transport")."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for i, ((method, pairing), g) in enumerate(epochs.groupby(["method", "pairing"], sort=True)):
            mean = g.groupby("epoch")[["pair_cost", "pair_cost_sckd"]].mean()
            label = f"{method} / {pairing}"
            ax.plot(mean.index, mean["pair_cost"], "-o", ms=3, color=_colour(i), label=f"{label} (ACKD)"
                    if pairing != "oracle" else f"{label} (SCKD)")
            if pairing != "oracle" and mean["pair_cost_sckd"].notna().any():
                ax.plot(mean.index, mean["pair_cost_sckd"], "--", color=_colour(i), label=f"{label}: SCKD pairs")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("pair cost in probability space (mean over classes)")
        ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        return _png(fig)


def oa_vs_w(runs: pd.DataFrame) -> bytes:
    """One point per run: final W2 between class probabilities vs test OA (circle = ACKD, square = SCKD)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for i, (method, g) in enumerate(runs.groupby("method", sort=True)):
            for protocol, marker in (("ACKD", "o"), ("SCKD", "s")):
                h = g[(g["protocol"] == protocol) & g["w2_prob"].notna()]
                if len(h):
                    ax.scatter(h["w2_prob"], 100 * h["test_oa"], marker=marker, color=_colour(i), s=16,
                               label=f"{method} ({protocol})")
        ax.set_xlabel("W2 between class probabilities at the end of training")
        ax.set_ylabel("test OA (%)")
        if ax.has_data():
            ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        return _png(fig)


def per_class_heatmap(per_class: pd.DataFrame) -> bytes:
    """Mean per-class test accuracy (over seeds and pairs); rows method / pairing, columns classes."""
    table = per_class.pivot_table(index=["method", "pairing"], columns="class_name", values="acc", aggfunc="mean")
    table = table.sort_index().sort_index(axis=1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.2 + 0.55 * table.shape[1], 1.2 + 0.35 * table.shape[0]))
        ax.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis", aspect="auto",
                  interpolation="nearest")
        ax.set_xticks(np.arange(table.shape[1]), table.columns, rotation=60, ha="right")
        ax.set_yticks(np.arange(table.shape[0]), [f"{m} / {p}" for m, p in table.index])
        for (r, c), v in np.ndenumerate(table.to_numpy(dtype=float)):
            if not np.isnan(v):
                ax.text(c, r, f"{100 * v:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if v < 0.6 else "black")
        fig.tight_layout()
        return _png(fig)
