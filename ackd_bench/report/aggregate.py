"""Read a submissions folder into tables: one row per run, per aggregated cell, per class, per epoch.

Everything is sorted, so the same folder always gives the same tables. "SCKD" = the `oracle` pairing (the
paired tiles); every other pairing protocol is "ACKD". On a benchmark whose card declares an `sckd_reference`
(its paired sibling build), `oracle` pairs students with paired tiles the teacher never saw: protocol
"paired-unseen", not SCKD (the SCKD reference is then the sibling's `oracle` run).
A cell is (benchmark, method, pairing, pair, config hash): one configuration (report/identity.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ackd_bench.io import read_json
from ackd_bench.report import stats
from ackd_bench.report.identity import config_diff, identity_hash, method_at_defaults, recipe_hash, variant_label

PAIR_ORDER = ["R-R", "M-M", "S-S", "R-M", "R-S", "M-S"]
KEY = ["benchmark", "method", "pairing", "pair", "config_hash"]
BASELINE = "kd"
MIN_RANKED_SEEDS = 3  # submission policy: cells with fewer seeds are shown, flagged "not ranked"
RECOMMENDED_SEEDS = 5
IDENTITY_COLUMNS = [
    "variant",
    "variant_diff",
    "default_variant",
    "recipe",
    "profile",
    "teacher_seed",
    "teacher_recipe",
    "sckd_reference",
    "paper_dataset",
]


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
    from ackd_bench.transport_costs import headline

    own, sckd = headline(t), headline(t, sckd=True)
    return {**own, **{f"{k}_sckd": v for k, v in sckd.items()}}


def card_for(cards: list[dict], name: str, version: object) -> dict:
    """The shipped card of benchmark `name` (same version preferred), or {}."""
    same = [c for c in cards if c.get("name") == name]
    return next((c for c in same if str(c.get("version")) == str(version)), same[0] if same else {})


def protocol(pairing: str, card: dict) -> str:
    """The leaderboard's protocol label: ACKD (unpaired), SCKD (`oracle`), or paired-unseen (`oracle` on a
    build that is a benchmark's declared SCKD reference)."""
    if pairing != "oracle":
        return "ACKD"
    return "paired-unseen" if card.get("sckd_reference") else "SCKD"


def _identity(r: dict, card: dict) -> dict:
    """Configuration identity, variant name and teacher recipe of a record."""
    cfg = r["config"]
    diff = config_diff(cfg, card.get("teacher_bands"))
    given = (r.get("submission") or {}).get("variant")
    teacher = cfg.get("teacher") if isinstance(cfg.get("teacher"), dict) else {}
    return {
        "config_hash": identity_hash(cfg),
        "variant": given or variant_label(cfg, diff),
        "variant_diff": ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(diff.items())) or "(profile defaults)",
        "default_variant": method_at_defaults(diff),
        "recipe": recipe_hash(cfg),
        "profile": str(cfg.get("profile") or ""),
        "teacher_seed": str(teacher.get("seed", "")),
        "teacher_recipe": json.dumps({k: v for k, v in teacher.items() if k != "arch"}, sort_keys=True),
        "sckd_reference": str(card.get("sckd_reference") or ""),
        "paper_dataset": str(card.get("paper_dataset") or ""),
    }


def _predictions(folder: Path) -> pd.DataFrame:
    df = pd.read_parquet(folder / "predictions.parquet", columns=["sample_id", "label", "prediction"])
    return df.assign(sample_id=df["sample_id"].astype(str)).sort_values("sample_id").reset_index(drop=True)


def load(root: str | Path, cards: list[dict] | None = None) -> dict:
    """{"runs", "per_class", "epochs", "confusion", "fraction_runs"} DataFrames for the submissions under
    `root`, "correct": {cell key (KEY order): {seed: per-image correctness Series indexed by sample id}} and
    "labels": {benchmark: test label Series indexed by sample id}, "bench_cards": {benchmark: card facts}.
    `cards`: the shipped benchmark cards (`sckd_reference`, `paper_dataset`, class names, default bands); the
    facts a record stored at submission (`submission.card`, from the build it was checked against) win.

    Everything but "fraction_runs" holds the runs on the whole student train split; "fraction_runs" every run
    with its `train_fraction` (report/label_efficiency.py)."""
    runs, per_class, epochs, confusion, correct, labels, fraction_runs = [], [], [], [], {}, {}, []
    bench_cards: dict[str, dict] = {}
    root = Path(root)
    for folder in record_dirs(root):
        r = read_json(folder / "result.json")
        stored = (r.get("submission") or {}).get("card")  # facts of the build `submit` checked against
        card = {
            **card_for(cards or [], r["benchmark"]["name"], r["benchmark"]["version"]),
            **(stored if isinstance(stored, dict) else {}),
        }
        bench_cards.setdefault(r["benchmark"]["name"], card)
        extra = _identity(r, card)
        ident = {
            "benchmark": r["benchmark"]["name"],
            "method": r["method"],
            "pairing": r["pairing"],
            "pair": r["pair"],
            "config_hash": extra.pop("config_hash"),
            "seed": int(r["seed"]),
        }
        m, t, tm = r["metrics"], r.get("transport"), r["timings"]
        fraction = float(r.get("train_fraction") or 1.0)
        fraction_runs.append(
            {
                **ident,
                "train_fraction": fraction,
                "test_oa": float(m["test_oa_best_val"]),
                "path": folder.relative_to(root).as_posix(),
            }
        )
        if fraction < 1.0:
            continue
        preds = _predictions(folder)
        hit = preds["label"].to_numpy() == preds["prediction"].to_numpy()
        correct.setdefault(tuple(ident[k] for k in KEY), {})[ident["seed"]] = pd.Series(
            hit, index=preds["sample_id"].to_numpy()
        )
        labels.setdefault(ident["benchmark"], pd.Series(preds["label"].to_numpy(), index=preds["sample_id"].to_numpy()))
        confusion += _confusion_rows(preds, ident, card.get("classes") or [])
        runs.append(
            {
                **ident,
                **extra,
                "benchmark_version": r["benchmark"]["version"],
                "protocol": protocol(r["pairing"], card),
                "n_test": len(preds),
                "teacher_arch": r["teacher_arch"],
                "student_arch": r["student_arch"],
                "test_oa": float(m["test_oa_best_val"]),
                "test_oa_last": float(m["test_oa_last"]),
                "test_macro_f1": float(m["test_macro_f1_best_val"]),
                "best_val_epoch": int(m["best_val_epoch"]),
                "teacher_test_oa": m["teacher_test_oa"] if m["teacher_test_oa"] is not None else np.nan,
                **_costs(t),
                "w_method": (t or {}).get("method") or "",
                "distill_s": float(tm["distill_s"] or 0.0),
                "total_s": float(tm["total_s"] or 0.0),
                "path": folder.relative_to(root).as_posix(),
            }
        )
        for cls, acc in sorted(m["per_class_acc"].items()):
            per_class.append({**ident, "class_name": cls, "acc": float(acc)})
        epochs += _epoch_rows(folder / "metrics.jsonl", ident)
    cols = {
        "runs": KEY + ["seed"],
        "per_class": KEY + ["seed", "class_name"],
        "epochs": KEY + ["seed", "epoch"],
        "confusion": KEY + ["seed", "true", "predicted"],
        "fraction_runs": KEY + ["train_fraction", "seed"],
    }
    frames = {
        "runs": pd.DataFrame(runs),
        "per_class": pd.DataFrame(per_class),
        "epochs": pd.DataFrame(epochs),
        "confusion": pd.DataFrame(confusion),
        "fraction_runs": pd.DataFrame(fraction_runs),
    }
    frames["runs"] = _unique_variants(frames["runs"])
    out = {k: (df.sort_values(cols[k]).reset_index(drop=True) if len(df) else df) for k, df in frames.items()}
    return {**out, "correct": correct, "labels": labels, "bench_cards": bench_cards}


def _unique_variants(runs: pd.DataFrame) -> pd.DataFrame:
    """Variant names made unique per (benchmark, method, pairing, pair): a shared name gets its config hash."""
    if runs.empty:
        return runs
    cols = ["benchmark", "method", "pairing", "pair", "variant"]
    shared = runs.groupby(cols)["config_hash"].transform("nunique") > 1
    return runs.assign(
        variant=[f"{v} [{h[:8]}]" if s else v for v, h, s in zip(runs["variant"], runs["config_hash"], shared)]
    )


def _confusion_rows(preds: pd.DataFrame, ident: dict, classes: list[str]) -> list[dict]:
    """Non-zero confusion-matrix entries of one run (class names from the card when known, else indices)."""
    counts = preds.groupby(["label", "prediction"]).size()

    def name(k: int) -> str:
        return classes[k] if 0 <= k < len(classes) else str(k)

    return [{**ident, "true": name(int(t)), "predicted": name(int(p)), "count": int(c)} for (t, p), c in counts.items()]


def bootstrap_seed(*parts: object) -> int:
    """A fixed bootstrap seed per cell / comparison, so outputs never depend on the order of computation."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "little")


def correct_by_seed(correct: dict, key: tuple) -> dict[int, np.ndarray]:
    """{seed: per-image correctness} of cell `key` (KEY order), images in sample-id order."""
    return {s: v.to_numpy(dtype=float) for s, v in correct.get(tuple(key), {}).items()}


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


def cells(runs: pd.DataFrame, correct: dict | None = None) -> pd.DataFrame:
    """One row per cell (KEY): n, seeds, mean and sample std (ddof=1) over seeds; with `correct`, the 95% CI of
    the mean OA from the hierarchical bootstrap (seeds, then test images) and the `ranked` flag."""
    if runs.empty:
        return pd.DataFrame(columns=KEY + ["n", "seeds", "oa_mean", "oa_std", "oa_lo", "oa_hi", "ranked"])
    rows = []
    for key, g in runs.groupby(KEY, sort=True):
        lo = hi = np.nan
        if correct is not None:
            _, lo, hi = stats.hierarchical_bootstrap_ci(correct_by_seed(correct, key), seed=bootstrap_seed(*key))
        first = g.iloc[0]
        ranked = len(g) >= MIN_RANKED_SEEDS and bool(first["default_variant"]) and first["protocol"] == "ACKD"
        why = (
            ""
            if ranked
            else (
                "fewer than 3 seeds"
                if len(g) < MIN_RANKED_SEEDS
                else "reference (paired tiles)"
                if first["protocol"] != "ACKD"
                else "variant"
            )
        )
        rows.append(
            {
                **dict(zip(KEY, key)),
                **{c: first[c] for c in IDENTITY_COLUMNS},
                "oa_lo": lo / 100,
                "oa_hi": hi / 100,
                "ranked": ranked,
                "not_ranked_why": why,
                "n_test": int(first["n_test"]),
                "benchmark_version": g["benchmark_version"].iloc[0],
                "protocol": g["protocol"].iloc[0],
                "n": len(g),
                "seeds": ",".join(str(s) for s in sorted(g["seed"])),
                "oa_mean": g["test_oa"].mean(),
                "oa_std": g["test_oa"].std(ddof=1),
                "oa_last_mean": g["test_oa_last"].mean(),
                "f1_mean": g["test_macro_f1"].mean(),
                "f1_std": g["test_macro_f1"].std(ddof=1),
                **{f"{k}{s}_mean": g[f"{k}{s}"].mean() for k in COSTS for s in ("", "_sckd")},
                "distill_s_mean": g["distill_s"].mean(),
                "total_s_mean": g["total_s"].mean(),
            }
        )
    return pd.DataFrame(rows)
