"""`ackd-bench leaderboard`: a pure, deterministic function of the submissions folder (docs/leaderboard.md).

Writes README.md, leaderboard.csv (one row per aggregated cell), submissions.parquet (one row per run),
index.html and plots/*.png into the output folder. Rerunning on the same folder gives byte-identical files.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ackd_bench.io import atomic_dir, atomic_write_bytes, atomic_write_text
from ackd_bench.report import aggregate, html, label_efficiency, plots, tables
from ackd_bench.report.submit import safe_component, submissions_lock

CELL_COLUMNS = [("benchmark", "benchmark", "text"), ("method", "method", "text"), ("pairing", "pairing", "text"),
                ("protocol", "protocol", "text"), ("pair", "pair", "text"), ("n", "n", "int"),
                ("seeds", "seeds", "text"), ("OA %", "oa_mean", "pct"), ("OA std", "oa_std", "pct"),
                ("OA last %", "oa_last_mean", "pct"), ("macro-F1 %", "f1_mean", "pct"),
                ("W2 prob", "w2_prob_mean", "num"), ("GW", "gw_mean", "num"), ("pair cost", "pair_cost_mean", "num"),
                ("pair cost SCKD", "pair_cost_sckd_mean", "num"), ("distill s", "distill_s_mean", "sec")]
PAIRED_COLUMNS = [("benchmark", "benchmark", "text"), ("method", "method", "text"), ("pairing", "pairing", "text"),
                  ("pair", "pair", "text"), ("kd pairing", "baseline_pairing", "text"), ("shared seeds", "n", "int"),
                  ("OA diff vs kd (pts)", "mean_diff", "pct"),
                  ("p (sign-flip)", "p_value", "num")]
RUN_COLUMNS = [("benchmark", "benchmark", "text"), ("method", "method", "text"), ("pairing", "pairing", "text"),
               ("pair", "pair", "text"), ("seed", "seed", "int"), ("OA %", "test_oa", "pct"),
               ("OA last %", "test_oa_last", "pct"), ("macro-F1 %", "test_macro_f1", "pct"),
               ("best-val epoch", "best_val_epoch", "int"), ("W2 prob", "w2_prob", "num"), ("GW", "gw", "num"),
               ("pair cost", "pair_cost", "num"), ("total s", "total_s", "sec")]


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.6f", lineterminator="\n")
    return buf.getvalue()


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _plots(data: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    out = {}
    runs, per_class, epochs = data["runs"], data["per_class"], data["epochs"]
    for bench in sorted(runs["benchmark"].unique()) if len(runs) else []:
        name = safe_component(bench) or "benchmark"
        if len(epochs) and (epochs["benchmark"] == bench).any():
            out[f"{name}_transport_epochs.png"] = plots.transport_epochs(epochs[epochs["benchmark"] == bench])
        out[f"{name}_oa_vs_w.png"] = plots.oa_vs_w(runs[runs["benchmark"] == bench])
        if len(per_class):
            out[f"{name}_per_class.png"] = plots.per_class_heatmap(per_class[per_class["benchmark"] == bench])
    return out


def build(submissions: str | Path, out: str | Path, check: bool = False) -> dict[str, pd.DataFrame]:
    """Write every leaderboard file for `submissions` into `out`; returns the tables (runs, cells, ...).

    Holds the submissions folder's lock throughout, so a concurrent `submit` lands either wholly before
    (its row is in) or wholly after this build. `check`: refuse (SubmissionError) a folder that fails
    `validate_submissions_folder`, checked under the same lock.
    """
    with submissions_lock(submissions):
        if check:
            from ackd_bench.errors import SubmissionError
            from ackd_bench.report.folder_check import validate_submissions_folder

            problems = validate_submissions_folder(submissions)
            if problems:
                raise SubmissionError(problems, submissions)
        return _build(submissions, Path(out))


def _build(submissions: str | Path, out: Path) -> dict[str, pd.DataFrame]:
    data = aggregate.load(submissions)
    cells = aggregate.cells(data["runs"])
    if len(cells):
        cells = cells.assign(_p=cells["pair"].map(aggregate.pair_sort_key)).sort_values(
            ["benchmark", "method", "pairing", "_p"]).drop(columns="_p").reset_index(drop=True)
    asym = aggregate.asymmetry(cells)
    paired = aggregate.paired_vs_baseline(data["runs"])
    images = _plots(data)
    atomic_write_text(out / "README.md", tables.readme(cells, asym, paired))
    atomic_write_text(out / "leaderboard.csv", _csv(cells))
    atomic_write_bytes(out / "submissions.parquet", _parquet(data["runs"]))
    parts = [html.table_html("cells", "Test OA per cell (mean over seeds)", cells, CELL_COLUMNS)]
    if len(paired):
        parts.append(html.table_html("paired", "Paired comparison with kd (exact sign-flip test)", paired,
                                     PAIRED_COLUMNS))
    curves = label_efficiency.table(data["fraction_runs"], submissions)  # runs on student train fractions
    if len(curves):
        images.update(label_efficiency.images(curves))
        atomic_write_text(out / "label_efficiency.csv", _csv(curves))
        parts.append(html.table_html("label_efficiency", "Label efficiency: test OA vs student train fraction",
                                     curves, label_efficiency.HTML_COLUMNS))
    elif (out / "label_efficiency.csv").exists():
        (out / "label_efficiency.csv").unlink()
    parts.append(html.table_html("runs", "Every submitted run", data["runs"], RUN_COLUMNS))
    intro = ("Student test OA at the best-val epoch; SCKD = oracle pairing, others ACKD. "
             f"{len(data['runs'])} runs. Click a header to sort; type to filter.")
    atomic_write_text(out / "index.html", html.page(parts, images, intro))
    with atomic_dir(out / "plots", overwrite=True) as tmp:
        for name, png in images.items():
            atomic_write_bytes(tmp / name, png)
    return {**data, "cells": cells, "asymmetry": asym, "paired": paired, "label_efficiency": curves}
