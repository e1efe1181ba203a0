"""Markdown for leaderboard/README.md: the aggregate view, then per benchmark the OA table with CIs and tied
groups, the variants, the asymmetry penalty, transport costs, and the paired comparisons (docs/leaderboard.md)."""

from __future__ import annotations

import math

import pandas as pd

from ackd_bench.report.aggregate import MIN_RANKED_SEEDS, RECOMMENDED_SEEDS, pair_sort_key
from ackd_bench.report.compare import ALPHA
from ackd_bench.report.scores import paper_oa

HOW_TO_READ = (
    f"How to read this: a cell is `mean [lo, hi] (n)`: student test OA (%) at the best-val epoch, mean over n "
    f"seeds, with a 95% confidence interval from a hierarchical bootstrap (resample seeds, then test images "
    f"within each seed). **Bold** = best in its column AND significantly better than every other ranked cell "
    f"there (paired exact McNemar test on the shared test images, combined over seeds, Holm-corrected within "
    f"the column, level {ALPHA}). ≈ = tied group: the top mean and the cells the data cannot tell apart from it. "
    f"† = not ranked (fewer than {MIN_RANKED_SEEDS} seeds, a variant of the method's own hyper-parameters, or a "
    f"paired-tile reference); "
    f"submit {RECOMMENDED_SEEDS} seeds per cell. Overlapping CIs do not by themselves mean a tie, and "
    f"non-overlapping ones are not a test: the marks come from the paired tests."
)


def pct(x: float | None, digits: int = 2) -> str:
    """A fraction in percent points (no % sign); – for a missing value."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def num(x: float | None, digits: int = 4) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def pval(p: float | None) -> str:
    """A p-value with 3 decimals, <0.001 below that; – for a missing value."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def interval(mean: float, lo: float, hi: float, scale: float = 100, digits: int = 2) -> str:
    """`mean [lo, hi]` (in percent for scale=100)."""

    def fmt(v: float) -> str:
        return f"{scale * v + 0.0:.{digits}f}".replace("-0." + "0" * digits, "0." + "0" * digits)

    if any(isinstance(v, float) and math.isnan(v) for v in (mean, lo, hi)):
        return "–" if isinstance(mean, float) and math.isnan(mean) else fmt(mean)
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


def cell_text(c: pd.Series) -> str:
    """`mean [lo, hi] (n)`, bold when resolved best, ≈ in a tied group, † when not ranked."""
    text = f"{interval(c['oa_mean'], c['oa_lo'], c['oa_hi'])} ({int(c['n'])})"
    if c.get("mark") == "best":
        return f"**{text}**"
    if c.get("mark") == "tied":
        return f"≈ {text}"
    return text if c["ranked"] else f"{text} †"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def oa_table(cells: pd.DataFrame) -> list[str]:
    """Rows (method, pairing, variant), columns pairs; plus the paper's R-R number where the card declares it."""
    pairs = sorted(cells["pair"].unique(), key=pair_sort_key)
    with_paper = bool((cells["paper_dataset"] != "").any())
    rows = []
    for (method, pairing, variant), g in cells.groupby(["method", "pairing", "variant"], sort=True):
        by_pair = g.set_index("pair")
        row = [method, pairing, variant] + [cell_text(by_pair.loc[p]) if p in by_pair.index else "" for p in pairs]
        if with_paper:
            paper = [paper_oa(r) for _, r in g.iterrows()]
            row.append(next((f"{v:.1f}" for v in paper if not math.isnan(v)), ""))
        rows.append(row)
    header = ["method", "pairing", "variant"] + pairs + (["paper (R-R)"] if with_paper else [])
    return _md_table(header, rows)


def variant_table(cells: pd.DataFrame) -> list[str]:
    """Markdown: each (method, pairing, configuration) with its variant name and how it differs from the profile."""
    rows = [
        [r.method, r.pairing, r.variant, f"`{r.config_hash}`", r.variant_diff, r.teacher_seed]
        for r in cells.drop_duplicates(["method", "pairing", "config_hash"]).itertuples()
    ]
    return _md_table(
        ["method", "pairing", "variant", "config hash", "difference to the profile's defaults", "teacher.seed"], rows
    )


def asymmetry_table(asym: pd.DataFrame) -> list[str]:
    """Markdown: the asymmetry penalty of each ACKD cell (OA points below the same method's `oracle` run on the
    SCKD reference) with its 95% CI, paired or independent."""
    if asym.empty:
        return ["No ACKD cell has an `oracle` run of the same method on its SCKD reference benchmark yet."]
    rows = [
        [
            r.method,
            r.pairing,
            r.variant,
            r.pair,
            r.reference_benchmark,
            interval(r.penalty, r.penalty_lo, r.penalty_hi),
            "paired" if r.paired_images else "independent",
        ]
        for r in asym.itertuples()
    ]
    return _md_table(
        ["method", "ACKD pairing", "variant", "pair", "SCKD reference (oracle on)", "penalty (OA pts) [95% CI]", "CI"],
        rows,
    )


COST_HEADERS = [
    ("w2_prob", "W2 prob"),
    ("gw", "GW"),
    ("pair_cost", "pair cost"),
    ("pair_cost_sckd", "pair cost (SCKD)"),
]


def cost_table(cells: pd.DataFrame) -> list[str]:
    """Mean transport costs (absent in older records: –) and training time per method, pairing and variant."""
    rows = []
    for (method, pairing, variant), g in cells.groupby(["method", "pairing", "variant"], sort=True):
        rows.append(
            [
                method,
                pairing,
                variant,
                *(num(g[f"{k}_mean"].mean()) for k, _ in COST_HEADERS),
                f"{g['distill_s_mean'].mean():.1f}",
                f"{g['total_s_mean'].mean():.1f}",
            ]
        )
    return _md_table(["method", "pairing", "variant", *(h for _, h in COST_HEADERS), "distill s", "total s"], rows)


def vs_text(r: object) -> str:
    """`kd / random`, plus the reference's variant when it was trained under another recipe."""
    base = f"{r.vs} / {r.vs_pairing}"
    return base if r.same_recipe else f"{base} ({r.vs_variant}; another training recipe)"


def paired_table(paired: pd.DataFrame) -> list[str]:
    """Markdown: each cell against a `kd` or `student` cell over the seeds they share (paired differences)."""
    if paired.empty:
        return ["No cell shares seeds with a `kd` or `student` cell yet."]
    rows = [
        [
            r.method,
            r.pairing,
            r.variant,
            r.pair,
            vs_text(r),
            str(r.n_seeds),
            str(r.n_images),
            interval(r.diff, r.diff_lo, r.diff_hi),
            pval(r.p_mcnemar),
            pval(r.p_holm),
            "yes" if r.significant else "no",
            pval(r.p_sign_flip),
        ]
        for r in paired.itertuples()
    ]
    return _md_table(
        [
            "method",
            "pairing",
            "variant",
            "pair",
            "compared with",
            "shared seeds",
            "image pairs",
            "OA diff (pts) [95% CI]",
            "p McNemar",
            "p Holm",
            f"resolved (Holm < {ALPHA})",
            "p sign-flip (seeds)",
        ],
        rows,
    )


def pending_lines(norm: dict) -> list[str]:
    """Markdown bullets: the tasks whose anchors are not frozen yet, with the reason."""
    return [f"- {p['benchmark']} / {p['pair']}: not normalised ({p['reason']})" for p in norm.get("pending", [])]


def aggregate_table(agg: pd.DataFrame) -> list[str]:
    """Markdown: per method and pairing, the IQM normalised score, the probabilities of beating `kd` and
    `student`, and the mean rank, each with its interval, over the tasks covered."""
    if agg.empty:
        return ["No task has usable frozen anchors and a ranked cell yet."]
    rows = [
        [
            r.method,
            r.pairing,
            interval(r.iqm, r.iqm_lo, r.iqm_hi, scale=1, digits=3),
            interval(r.pi_kd, r.pi_kd_lo, r.pi_kd_hi, scale=1, digits=2),
            interval(r.pi_student, r.pi_student_lo, r.pi_student_hi, scale=1, digits=2),
            interval(r.mean_rank, r.rank_lo, r.rank_hi, scale=1, digits=2),
            f"{r.tasks}/{r.tasks_total}",
            str(r.runs),
        ]
        for r in agg.itertuples()
    ]
    return _md_table(
        [
            "method",
            "pairing",
            "IQM normalised score [95% CI]",
            "P(better than kd)",
            "P(better than student)",
            "mean rank [95% interval]",
            "tasks covered",
            "runs",
        ],
        rows,
    )


def readme(
    cells: pd.DataFrame,
    asym: pd.DataFrame,
    paired: pd.DataFrame,
    agg: pd.DataFrame,
    releases: list[str] | None = None,
    norm: dict | None = None,
) -> str:
    """The whole README.md (no timestamps: a pure function of the tables)."""
    out = [
        "# ackd-bench leaderboard",
        "",
        "Generated by `ackd-bench leaderboard` from `leaderboard/submissions/` (do not edit by hand; every "
        "number is explained in docs/leaderboard.md). SCKD = the `oracle` pairing on a paired build; "
        "`paired-unseen` = `oracle` on an ACKD build whose card declares its paired sibling (paired tiles the "
        "teacher never saw); every other pairing is ACKD.",
        "",
        "> " + HOW_TO_READ,
        "",
    ]
    if releases:
        out += ["Releases: " + ", ".join(f"[{r}](releases/{r}/README.md)" for r in releases), ""]
    if cells.empty:
        return "\n".join(out + ["No submissions yet.", ""])
    out += [
        "## Aggregate over benchmarks and pairs",
        "",
        "Normalised score per (benchmark, pair): 0 = `student`, 1 = the SCKD reference (`kd` with `oracle` "
        "pairing on the card's `sckd_reference` build, else on the same build), anchors frozen in "
        "`normaliser.json`. Ranked cells only; IQM over all (benchmark, pair, seed) runs with a bootstrap CI "
        "stratified by (benchmark, pair); P(better than X): probability that a run of the row beats a run of X "
        "on the same task (ties count 1/2), averaged over shared tasks; mean rank over the tasks a row has (1 = "
        "best). A row is aggregated only over the tasks it has: see 'tasks covered'.",
        "",
    ]
    out += aggregate_table(agg) + [""] + pending_lines(norm or {}) + ([""] if (norm or {}).get("pending") else [])
    for bench, c in cells.groupby("benchmark", sort=True):
        versions = ", ".join(sorted(c["benchmark_version"].astype(str).unique()))
        seeds = ", ".join(sorted(c["teacher_seed"].astype(str).unique()))
        out += [
            f"## {bench} (version {versions})",
            "",
            f"Teacher seed mode (config `teacher.seed`): {seeds} (`follow` = each run's teacher is trained with "
            "the run's own seed; an integer = one teacher shared by every seed).",
            "",
        ]
        if (c["paper_dataset"] != "").any():
            out += [
                f"This benchmark's card declares that it reproduces the paper dataset "
                f"{c['paper_dataset'].iloc[0]}: the 'paper' column is the SemBridge paper's R-R OA "
                "(secondary source, see docs/leaderboard.md).",
                "",
            ]
        out += ["### Test OA", ""] + oa_table(c) + [""]
        out += ["### Variants (one configuration per row)", ""] + variant_table(c) + [""]
        out += ["### Asymmetry penalty (SCKD reference minus ACKD, OA points)", ""]
        out += asymmetry_table(asym[asym["benchmark"] == bench] if not asym.empty else asym) + [""]
        out += (
            [
                "### Transport cost and training time",
                "",
                "Per class then averaged, mean over seeds and pairs (definitions: docs/results-schema.md). W2 prob: "
                "Wasserstein-2 between teacher-partner and student class probabilities (softmax at T = 3); GW: "
                "Gromov-Wasserstein between the two embedding sets; pair cost: root mean squared distance between "
                "each student's and its partner's class probabilities (what a pairing changes). – = not in these "
                "records (written before these costs existed).",
                "",
            ]
            + cost_table(c)
            + [""]
        )
        out += [
            "### Paired comparisons with `kd` and `student`",
            "",
            "Same benchmark and pair, shared seeds, the same test images: mean OA difference with a paired "
            "bootstrap 95% CI (seeds, then images); exact McNemar test per seed, combined over seeds as "
            "min(1, 2 x mean p) (valid whatever the dependence between seeds); Holm-corrected over every "
            "comparison on this page; the exact sign-flip test on per-seed OA differences as a second column "
            "(with n seeds its smallest p is 2/2^n).",
            "",
        ]
        out += paired_table(paired[paired["benchmark"] == bench] if not paired.empty else paired) + [""]
        out += [
            f"Plots: `plots/{bench}_oa_ci.png`, `plots/{bench}_transport_epochs.png`, "
            f"`plots/{bench}_oa_vs_w.png`, `plots/{bench}_per_class.png`. Confusion matrices: "
            "`confusion.csv` (per run) and the page.",
            "",
        ]
    return "\n".join(out)
