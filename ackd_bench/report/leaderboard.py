"""`ackd-bench leaderboard`: a pure, deterministic function of the submissions folder (docs/leaderboard.md).

Writes README.md, leaderboard.csv (one row per cell: one configuration), paired.csv, aggregate.csv,
asymmetry.csv, per_class.csv, confusion.csv, submissions.parquet (one row per run), normaliser.json (the frozen
anchors of the normalised score: read back and kept on every rebuild), index.html and plots/*.png into the
output folder. Rerunning on the same folder gives byte-identical files. `release`: also an immutable snapshot
under `<out>/releases/<name>/`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from ackd_bench.errors import SubmissionError
from ackd_bench.io import atomic_dir, atomic_write_bytes, atomic_write_text, sha256_file
from ackd_bench.report import aggregate, compare, html, label_efficiency, plots, scores, stats, tables
from ackd_bench.report.benchmarks import DATASETS_DIR, known_cards
from ackd_bench.report.submit import safe_component, submissions_lock

CELL_COLUMNS = [
    ("benchmark", "benchmark", "text"),
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("variant", "variant", "text"),
    ("protocol", "protocol", "text"),
    ("pair", "pair", "text"),
    ("n", "n", "int"),
    ("OA % [95% CI] (n)", "oa_mean", "ci"),
    ("status", "status", "text"),
    ("paper OA %", "paper_oa", "num1"),
    ("macro-F1 %", "f1_mean", "pct"),
    ("OA last %", "oa_last_mean", "pct"),
    ("W2 prob", "w2_prob_mean", "num"),
    ("GW", "gw_mean", "num"),
    ("pair cost", "pair_cost_mean", "num"),
    ("pair cost SCKD", "pair_cost_sckd_mean", "num"),
    ("distill s", "distill_s_mean", "sec"),
    ("config", "config_hash", "text"),
]
PAIRED_COLUMNS = [
    ("benchmark", "benchmark", "text"),
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("variant", "variant", "text"),
    ("pair", "pair", "text"),
    ("vs", "vs_text", "text"),
    ("shared seeds", "n_seeds", "int"),
    ("image pairs", "n_images", "int"),
    ("OA diff (pts) [95% CI]", "diff", "ci"),
    ("p McNemar", "p_mcnemar", "p"),
    ("p Holm", "p_holm", "p"),
    ("resolved", "resolved", "text"),
    ("p sign-flip", "p_sign_flip", "p"),
]
AGG_COLUMNS = [
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("IQM normalised [95% CI]", "iqm", "ci"),
    ("P(> kd) [95% CI]", "pi_kd", "ci"),
    ("P(> student) [95% CI]", "pi_student", "ci"),
    ("mean rank [95% interval]", "mean_rank", "ci"),
    ("tasks covered", "coverage", "text"),
    ("runs", "runs", "int"),
]
ASYM_COLUMNS = [
    ("benchmark", "benchmark", "text"),
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("variant", "variant", "text"),
    ("pair", "pair", "text"),
    ("SCKD reference", "reference_benchmark", "text"),
    ("penalty (pts) [95% CI]", "penalty", "ci"),
]
RUN_COLUMNS = [
    ("benchmark", "benchmark", "text"),
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("pair", "pair", "text"),
    ("seed", "seed", "int"),
    ("OA %", "test_oa", "pct"),
    ("OA last %", "test_oa_last", "pct"),
    ("macro-F1 %", "test_macro_f1", "pct"),
    ("best-val epoch", "best_val_epoch", "int"),
    ("variant", "variant", "text"),
    ("teacher.seed", "teacher_seed", "text"),
    ("W2 prob", "w2_prob", "num"),
    ("total s", "total_s", "sec"),
]
PER_CLASS_COLUMNS = [
    ("benchmark", "benchmark", "text"),
    ("method", "method", "text"),
    ("pairing", "pairing", "text"),
    ("pair", "pair", "text"),
    ("config", "config_hash", "text"),
    ("class", "class_name", "text"),
    ("test images", "n_images", "int"),
    ("accuracy % [95% CI]", "acc", "ci"),
]
RELEASE_NAME = re.compile(r"^v[0-9]+(\.[0-9]+){1,2}$")
RELEASE_FILES = ("README.md", "leaderboard.csv", "paired.csv", "aggregate.csv", "asymmetry.csv", "normaliser.json")


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.6f", lineterminator="\n")
    return buf.getvalue()


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _plots(data: dict, cells: pd.DataFrame) -> dict[str, bytes]:
    out = {}
    runs, per_class, epochs = data["runs"], data["per_class"], data["epochs"]
    for bench in sorted(runs["benchmark"].unique()) if len(runs) else []:
        name = safe_component(bench) or "benchmark"
        out[f"{name}_oa_ci.png"] = plots.oa_with_ci(cells[cells["benchmark"] == bench])
        mine = epochs[epochs["benchmark"] == bench] if len(epochs) else epochs
        if len(mine) and mine[["pair_cost", "pair_cost_sckd"]].notna().any().any():
            out[f"{name}_transport_epochs.png"] = plots.transport_epochs(mine)
        if runs.loc[runs["benchmark"] == bench, "w2_prob"].notna().any():  # absent in records before these keys
            out[f"{name}_oa_vs_w.png"] = plots.oa_vs_w(runs[runs["benchmark"] == bench])
        if len(per_class):
            out[f"{name}_per_class.png"] = plots.per_class_heatmap(per_class[per_class["benchmark"] == bench])
    return out


def per_class_ci(cells: pd.DataFrame, data: dict) -> pd.DataFrame:
    """Per cell and class: accuracy (recall) mean over seeds with its hierarchical-bootstrap 95% CI."""
    rows = []
    for _, c in cells.iterrows():
        key = tuple(c[k] for k in aggregate.KEY)
        runs = data["correct"].get(key, {})
        labels = data["labels"][c["benchmark"]]
        names = data["bench_cards"].get(c["benchmark"], {}).get("classes") or []
        aligned = {s: (labels.reindex(v.index).to_numpy(), v.to_numpy(dtype=float)) for s, v in runs.items()}
        for label in sorted(pd.unique(labels)):
            by_seed = {s: hit[lab == label] for s, (lab, hit) in aligned.items()}
            by_seed = {s: v for s, v in by_seed.items() if len(v)}
            if not by_seed:
                continue
            mean, lo, hi = stats.hierarchical_bootstrap_ci(by_seed, seed=aggregate.bootstrap_seed(*key, label))
            rows.append(
                {
                    **{k: c[k] for k in aggregate.KEY},
                    "class_name": names[label] if label < len(names) else str(label),
                    "n_images": len(next(iter(by_seed.values()))),
                    "acc": mean / 100,
                    "acc_lo": lo / 100,
                    "acc_hi": hi / 100,
                }
            )
    return pd.DataFrame(rows)


def _with_text(cells: pd.DataFrame, paired: pd.DataFrame, agg: pd.DataFrame, asym: pd.DataFrame) -> None:
    """Display columns for the page (`<col>_text`, `status`, `_class`), in place."""
    if len(cells):
        cells["oa_mean_text"] = [f"{tables.interval(r.oa_mean, r.oa_lo, r.oa_hi)} ({r.n})" for r in cells.itertuples()]
        cells["status"] = [
            (
                "best (resolved)"
                if r.mark == "best"
                else "tied group"
                if r.mark == "tied"
                else "ranked"
                if r.ranked
                else f"not ranked: {r.not_ranked_why}"
            )
            for r in cells.itertuples()
        ]
        cells["_class"] = [r.mark or ("" if r.ranked else "unranked") for r in cells.itertuples()]
    if len(paired):
        paired["diff_text"] = [tables.interval(r.diff, r.diff_lo, r.diff_hi) for r in paired.itertuples()]
        paired["vs_text"] = [tables.vs_text(r) for r in paired.itertuples()]
        paired["resolved"] = ["yes" if s else "no" for s in paired["significant"]]
    if len(agg):
        for col, lo, hi, scale, digits in (
            ("iqm", "iqm_lo", "iqm_hi", 1, 3),
            ("pi_kd", "pi_kd_lo", "pi_kd_hi", 1, 2),
            ("pi_student", "pi_student_lo", "pi_student_hi", 1, 2),
            ("mean_rank", "rank_lo", "rank_hi", 1, 2),
        ):
            agg[f"{col}_text"] = [
                tables.interval(a, b, c, scale=scale, digits=digits) for a, b, c in zip(agg[col], agg[lo], agg[hi])
            ]
        agg["coverage"] = [f"{a}/{b}" for a, b in zip(agg["tasks"], agg["tasks_total"])]
    if len(asym):
        asym["penalty_text"] = [tables.interval(r.penalty, r.penalty_lo, r.penalty_hi) for r in asym.itertuples()]


def _confusion_blocks(cells: pd.DataFrame, confusion: pd.DataFrame, cards: dict[str, dict]) -> list:
    blocks = []
    if confusion.empty:
        return blocks
    summed = confusion.groupby(aggregate.KEY + ["true", "predicted"], sort=True)["count"].sum().reset_index()
    by_cell = {
        k: dict(zip(zip(g["true"], g["predicted"]), g["count"])) for k, g in summed.groupby(aggregate.KEY, sort=True)
    }
    for _, c in cells.iterrows():
        part = by_cell.get(tuple(c[k] for k in aggregate.KEY))
        if not part:
            continue
        names = cards.get(c["benchmark"], {}).get("classes") or []
        present = sorted({t for t, _ in part} | {p for _, p in part})
        classes = [n for n in names if n in present] + sorted(p for p in present if p not in names)
        counts = [[int(part.get((t, p), 0)) for p in classes] for t in classes]
        meta = {
            **{f: c[f] for f in html.FACET_COLUMNS},
            "title": f"{c['benchmark']} / {c['method']} / {c['pairing']} / {c['pair']} / {c['variant']} "
            f"({int(c['n'])} seeds)",
        }
        blocks.append((meta, classes, counts))
    return blocks


def build(
    submissions: str | Path,
    out: str | Path,
    check: bool = False,
    release: str | None = None,
    datasets_dir: str | Path = DATASETS_DIR,
) -> dict[str, pd.DataFrame]:
    """Write every leaderboard file for `submissions` into `out`; returns the tables (runs, cells, ...).

    Holds the submissions folder's lock throughout, so a concurrent `submit` lands either wholly before
    (its row is in) or wholly after this build. `check`: refuse (SubmissionError) a folder that fails
    `validate_submissions_folder`, checked under the same lock. `release` ("vX.Y"): also write the immutable
    snapshot `<out>/releases/<release>/` (refused if it exists).
    """
    out = Path(out)
    if release is not None:
        if not RELEASE_NAME.match(release):
            raise SubmissionError([f"--release {release!r}: expected a version like v1.0 or v1.2.3"], out)
        if (out / "releases" / release).exists():
            raise SubmissionError(
                [f"--release {release}: releases/{release} exists already (releases are immutable)"], out
            )
    with submissions_lock(submissions):
        if check:
            from ackd_bench.report.folder_check import validate_submissions_folder

            problems = validate_submissions_folder(submissions)
            if problems:
                raise SubmissionError(problems, submissions)
        return _build(Path(submissions), out, release, known_cards(datasets_dir))


def _sort_cells(cells: pd.DataFrame) -> pd.DataFrame:
    if cells.empty:
        return cells
    return (
        cells.assign(_p=cells["pair"].map(aggregate.pair_sort_key))
        .sort_values(["benchmark", "method", "pairing", "variant", "_p", "config_hash"])
        .drop(columns="_p")
        .reset_index(drop=True)
    )


def _submission_hashes(submissions: Path) -> str:
    lines = []
    for folder in aggregate.record_dirs(submissions):
        rel = folder.relative_to(submissions).as_posix()
        lines += [f"{sha256_file(folder / name)}  {rel}/{name}" for name in ("result.json", "predictions.parquet")]
    return "\n".join(lines) + ("\n" if lines else "")


def _build(submissions: Path, out: Path, release: str | None, cards: list[dict]) -> dict[str, pd.DataFrame]:
    data = aggregate.load(submissions, cards)
    cells = _sort_cells(aggregate.cells(data["runs"], data["correct"]))
    if len(cells):
        cells = compare.tied_groups(cells, data["correct"])
        cells["paper_oa"] = [scores.paper_oa(r) for _, r in cells.iterrows()]
    asym = compare.asymmetry(cells, data["correct"]) if len(cells) else pd.DataFrame()
    paired = compare.paired_table(cells, data["correct"]) if len(cells) else pd.DataFrame()
    norm = scores.normaliser(cells, scores.read_normaliser(out / "normaliser.json"))
    agg = scores.aggregate_view(data["runs"], cells, norm) if len(cells) else pd.DataFrame()
    per_class = per_class_ci(cells, data) if len(cells) else pd.DataFrame()
    _with_text(cells, paired, agg, asym)
    data["per_class_ci"] = per_class
    data["normaliser"] = norm
    releases = sorted(p.name for p in (out / "releases").iterdir()) if (out / "releases").is_dir() else []
    releases = sorted(set(releases) | ({release} if release else set()))
    images = _plots(data, cells)
    curves = label_efficiency.table(data["fraction_runs"], submissions)  # runs on student train fractions
    if len(curves):
        images.update(label_efficiency.images(curves))
        atomic_write_text(out / "label_efficiency.csv", _csv(curves))
    elif (out / "label_efficiency.csv").exists():
        (out / "label_efficiency.csv").unlink()
    data["label_efficiency"] = curves
    readme = tables.readme(cells, asym, paired, agg, releases, norm)
    files = {
        "README.md": readme,
        "leaderboard.csv": _csv(_public(cells)),
        "paired.csv": _csv(_public(paired)),
        "aggregate.csv": _csv(_public(agg)),
        "asymmetry.csv": _csv(_public(asym)),
        "per_class.csv": _csv(per_class),
        "confusion.csv": _csv(data["confusion"]),
    }
    for name, text in files.items():
        atomic_write_text(out / name, text)
    scores.write_normaliser(out / "normaliser.json", norm)
    atomic_write_bytes(out / "submissions.parquet", _parquet(data["runs"]))
    atomic_write_text(out / "index.html", _page(data, cells, paired, agg, asym, images, releases))
    with atomic_dir(out / "plots", overwrite=True) as tmp:
        for name, png in images.items():
            atomic_write_bytes(tmp / name, png)
    if release:
        with atomic_dir(out / "releases" / release) as tmp:
            for name in RELEASE_FILES[1:]:
                atomic_write_bytes(tmp / name, (out / name).read_bytes())
            atomic_write_text(tmp / "README.md", tables.readme(cells, asym, paired, agg, None, norm))  # no links
            atomic_write_text(tmp / "submissions.sha256", _submission_hashes(submissions))
    return {
        **{k: v for k, v in data.items() if isinstance(v, pd.DataFrame)},
        "cells": cells,
        "asymmetry": asym,
        "paired": paired,
        "aggregate": agg,
        "normaliser": norm,
        "per_class_ci": per_class,
        "label_efficiency": curves,
    }


def _public(df: pd.DataFrame) -> pd.DataFrame:
    """Without the page's display-only columns."""
    return df[[c for c in df.columns if not c.endswith("_text") and c not in ("_class", "status", "vs_text")]]


def _facet_values(runs: pd.DataFrame) -> dict[str, list[str]]:
    if runs.empty:
        return {}
    return {
        f: sorted(runs[f].astype(str).unique(), key=aggregate.pair_sort_key if f == "pair" else str)
        for f in html.FACET_COLUMNS
    }


def _page(
    data: dict,
    cells: pd.DataFrame,
    paired: pd.DataFrame,
    agg: pd.DataFrame,
    asym: pd.DataFrame,
    images: dict[str, bytes],
    releases: list[str],
) -> str:
    parts = []
    if len(agg):
        parts.append(
            html.table_html(
                "aggregate",
                "Aggregate over benchmarks and pairs",
                agg,
                AGG_COLUMNS,
                "Normalised score per (benchmark, pair): 0 = student, 1 = SCKD reference (kd, "
                "oracle pairing, on the card's sckd_reference build); anchors frozen in "
                "normaliser.json. IQM with a bootstrap CI stratified by (benchmark, pair).",
            )
        )
    cell_cols = [c for c in CELL_COLUMNS if c[1] != "paper_oa" or cells.get("paper_oa", pd.Series()).notna().any()]
    parts.append(
        html.table_html(
            "cells",
            "Test OA per cell (one configuration, mean over seeds)",
            cells,
            cell_cols,
            "Bold/green = best, resolved by a paired McNemar test vs every other ranked cell of "
            "its (benchmark, pair) column (Holm within the column, 0.05); yellow = tied group.",
        )
    )
    pending = tables.pending_lines(data["normaliser"])
    if pending:
        parts.append(html.paragraph([p[2:] for p in pending]))
    if len(paired):
        parts.append(
            html.table_html(
                "paired",
                "Paired comparisons with kd and student (shared test images)",
                paired,
                PAIRED_COLUMNS,
                "Exact McNemar per seed combined as min(1, 2 x mean p); Holm "
                "over every comparison in this table; sign-flip test over seeds as a second "
                "column.",
            )
        )
    if len(asym):
        parts.append(html.table_html("asymmetry", "Asymmetry penalty (SCKD reference minus ACKD)", asym, ASYM_COLUMNS))
    if len(cells):
        variants = cells.drop_duplicates(["method", "pairing", "config_hash"])
        parts.append(
            html.table_html(
                "variants",
                "Variants: each configuration's difference to its profile",
                variants,
                [
                    ("method", "method", "text"),
                    ("pairing", "pairing", "text"),
                    ("variant", "variant", "text"),
                    ("config", "config_hash", "text"),
                    ("difference", "variant_diff", "text"),
                    ("teacher.seed", "teacher_seed", "text"),
                ],
            )
        )
    curves = data["label_efficiency"]
    if len(curves):
        parts.append(
            html.table_html(
                "label_efficiency",
                "Label efficiency: test OA vs student train fraction",
                curves,
                label_efficiency.HTML_COLUMNS,
            )
        )
    parts.append(html.table_html("runs", "Every submitted run", data["runs"], RUN_COLUMNS))
    per_class = data.get("per_class_ci", pd.DataFrame())
    if len(per_class):
        per_class = per_class.assign(
            acc_text=[
                tables.interval(a, lo, hi)
                for a, lo, hi in zip(per_class["acc"], per_class["acc_lo"], per_class["acc_hi"])
            ]
        )
        parts.append(
            "<details><summary>Per-class accuracy with 95% CIs (per cell)</summary>\n"
            + html.table_html("per_class", "Per-class accuracy (recall) per cell", per_class, PER_CLASS_COLUMNS)
            + "</details>\n"
        )
    parts.append(html.confusion_html(_confusion_blocks(cells, data["confusion"], data["bench_cards"])))
    modes = ", ".join(sorted(data["runs"]["teacher_seed"].astype(str).unique())) if len(data["runs"]) else "–"
    intro = (
        f"{len(data['runs'])} runs in {len(cells)} cells. Student test OA at the best-val epoch; SCKD = oracle "
        f"pairing on a paired build, others ACKD. Teacher seed mode (config teacher.seed): {modes}. "
        "Click a header to sort; type to filter; every number is explained in docs/leaderboard.md."
    )
    links = "".join(f'<a href="releases/{r}/README.md">{r}</a> ' for r in releases)
    head = (
        html.howto_html(tables.HOW_TO_READ.removeprefix("How to read this: ").replace("**", "").replace("`", ""))
        + html.filters_html(_facet_values(data["runs"]))
        + (f"<p>Releases: {links}</p>\n" if links else "")
        + html.legend_html(
            {m: plots.method_colour_hex(m) for m in sorted(data["runs"]["method"].unique())}
            if len(data["runs"])
            else {}
        )
    )
    return html.page(parts, images, intro, head)
