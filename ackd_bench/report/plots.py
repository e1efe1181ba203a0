"""Leaderboard plots as deterministic PNG bytes (matplotlib Agg, fixed font, size and dpi, no metadata)."""

from __future__ import annotations

import hashlib
import io

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ackd_bench.report.aggregate import pair_sort_key  # noqa: E402

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.prop_cycle": matplotlib.cycler(color=matplotlib.colormaps["tab10"].colors),
    "path.simplify": False,
    "svg.hashsalt": "ackd-bench",
}


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


# one colour per method in every plot (and the page's legend): fixed for the shipped methods, else by name hash
METHOD_ORDER = ("student", "kd", "sembridge", "dkd", "ctkd", "lskd", "rkd", "logits", "distilvpr")
PAIRING_STYLE = {"random": "-", "oracle": ":", "ssm": "-.", "ssm-free": "--"}


def method_colour(method: str) -> tuple:
    """The method's colour (tab20): SemBridge-wrapped methods use the light shade of their base method's hue."""
    palette = matplotlib.colormaps["tab20"].colors
    base, wrapped = (method[: -len("+sembridge")], True) if method.endswith("+sembridge") else (method, False)
    if base in METHOD_ORDER:
        return palette[(2 * METHOD_ORDER.index(base) + int(wrapped)) % 20]
    return palette[int(hashlib.sha256(method.encode()).hexdigest(), 16) % 20]


def _colour(i: int) -> tuple:
    """The i-th tab10 colour (plots whose series are not methods)."""
    return matplotlib.colormaps["tab10"](i % 10)


def method_colour_hex(method: str) -> str:
    return matplotlib.colors.to_hex(method_colour(method))


def transport_epochs(epochs: pd.DataFrame) -> bytes:
    """Pair cost per epoch (mean over seeds and pairs): one colour per method, line style per pairing; markers =
    under the run's pairing, thin dashed = under the SCKD pairs. Records without the key leave the plot empty."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for (method, pairing), g in epochs.groupby(["method", "pairing"], sort=True):
            mean = g.groupby("epoch")[["pair_cost", "pair_cost_sckd"]].mean()
            label, colour = f"{method} / {pairing}", method_colour(method)
            if mean["pair_cost"].notna().any():
                ax.plot(
                    mean.index,
                    mean["pair_cost"],
                    PAIRING_STYLE.get(pairing, "-"),
                    marker="o",
                    ms=3,
                    color=colour,
                    label=label,
                )
            if pairing != "oracle" and mean["pair_cost_sckd"].notna().any():
                ax.plot(mean.index, mean["pair_cost_sckd"], "--", lw=0.8, color=colour, label=f"{label}: SCKD pairs")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("pair cost in probability space (mean over classes)")
        if ax.has_data():
            ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        return _png(fig)


def oa_vs_w(runs: pd.DataFrame) -> bytes:
    """One point per run: final W2 between class probabilities vs test OA (circle = ACKD, square = paired tiles)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for method, g in runs.groupby("method", sort=True):
            for paired, marker in ((False, "o"), (True, "s")):
                h = g[((g["protocol"] != "ACKD") == paired) & g["w2_prob"].notna()]
                if len(h):
                    ax.scatter(
                        h["w2_prob"],
                        100 * h["test_oa"],
                        marker=marker,
                        color=method_colour(method),
                        s=16,
                        label=f"{method} ({'paired tiles' if paired else 'ACKD'})",
                    )
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
        ax.imshow(table.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="nearest")
        ax.set_xticks(np.arange(table.shape[1]), table.columns, rotation=60, ha="right")
        ax.set_yticks(np.arange(table.shape[0]), [f"{m} / {p}" for m, p in table.index])
        for (r, c), v in np.ndenumerate(table.to_numpy(dtype=float)):
            if not np.isnan(v):
                ax.text(
                    c, r, f"{100 * v:.0f}", ha="center", va="center", fontsize=6, color="white" if v < 0.6 else "black"
                )
        fig.tight_layout()
        return _png(fig)


def oa_with_ci(cells: pd.DataFrame) -> bytes:
    """Mean test OA with its 95% CI bar per cell: x = pair, one colour per method, offsets per (method, pairing,
    variant); hollow markers = not ranked."""
    rows = cells.sort_values(["method", "pairing", "variant"]).reset_index(drop=True)
    pairs = sorted(rows["pair"].unique(), key=pair_sort_key)
    series = list(rows.groupby(["method", "pairing", "variant"], sort=True))
    width = 0.8 / max(len(series), 1)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(max(4, 1.2 + 1.4 * len(pairs)), 3.8))
        for i, ((method, pairing, variant), g) in enumerate(series):
            x = np.array([pairs.index(p) for p in g["pair"]]) - 0.4 + width * (i + 0.5)
            mean, lo, hi = (100 * g[c].to_numpy(dtype=float) for c in ("oa_mean", "oa_lo", "oa_hi"))
            colour = method_colour(method)
            ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="none", ecolor=colour, elinewidth=1, capsize=2)
            ranked = g["ranked"].to_numpy(dtype=bool)
            name = f"{method} / {pairing} / {variant}"
            if ranked.any():
                ax.scatter(x[ranked], mean[ranked], color=colour, s=18, label=name)
            if (~ranked).any():
                ax.scatter(
                    x[~ranked],
                    mean[~ranked],
                    facecolors="white",
                    edgecolors=colour,
                    s=18,
                    label=None if ranked.any() else f"{name} (not ranked)",
                )
        ax.set_xticks(np.arange(len(pairs)), pairs)
        ax.set_ylabel("test OA (%), 95% CI")
        if 0 < len(series) <= 16:  # more: the page's colour legend and tables name them
            ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        return _png(fig)
