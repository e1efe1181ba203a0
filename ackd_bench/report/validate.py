"""Recompute a run's test scores from predictions.parquet and compare them with what result.json reports.

Definitions (docs/results-schema.md): OA = share of correct predictions; per-class accuracy = recall of each
class with test support (keyed by class name); macro-F1 = unweighted mean of per-class F1 over the classes
present in the labels or the predictions (F1 = 0 where precision + recall = 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TOLERANCE = 1e-6
MAX_FILE_BYTES = 10 * 1024 * 1024


def read_predictions(path: str | Path) -> tuple[pd.DataFrame | None, list[str]]:
    """predictions.parquet as a DataFrame (sample_id, label, prediction, ...) or the reasons it is unusable."""
    try:
        df = pd.read_parquet(path)
    except FileNotFoundError:
        return None, ["predictions.parquet: file missing"]
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        return None, [f"predictions.parquet: not a readable Parquet file ({type(exc).__name__})"]
    missing = [c for c in ("sample_id", "label", "prediction") if c not in df.columns]
    if missing:
        return None, [f"predictions.parquet: missing column(s) {', '.join(missing)}"]
    return df, []


def id_violations(sample_ids: list[str], expected: set[str]) -> list[str]:
    """Sample ids must cover the expected set exactly once each."""
    out = []
    series = pd.Series(sample_ids, dtype=str)
    dup = sorted(series[series.duplicated()].unique())
    unknown = sorted(set(series) - expected)
    missing = sorted(expected - set(series))
    for label, ids in (("duplicate", dup), ("unknown", unknown), ("missing", missing)):
        if ids:
            shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
            out.append(f"predictions.parquet: {len(ids)} {label} sample id(s) vs the student test split: {shown}")
    return out


def score(labels: np.ndarray, predictions: np.ndarray, classes: list[str]) -> dict:
    """OA, macro-F1 and per-class accuracy (see the module docstring)."""
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    oa = float(np.mean(labels == predictions)) if len(labels) else 0.0
    per_class, f1s = {}, []
    for k in sorted(set(labels.tolist()) | set(predictions.tolist())):
        tp = int(np.sum((labels == k) & (predictions == k)))
        support, predicted = int(np.sum(labels == k)), int(np.sum(predictions == k))
        recall = tp / support if support else 0.0
        precision = tp / predicted if predicted else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0)
        if support:
            per_class[classes[k]] = recall
    return {
        "test_oa_best_val": oa,
        "test_macro_f1_best_val": float(np.mean(f1s)) if f1s else 0.0,
        "per_class_acc": per_class,
    }


def recompute(df: pd.DataFrame, truth: dict[str, int], classes: list[str]) -> tuple[dict | None, list[str]]:
    """Scores of `df` against `truth` (sample_id -> label), or the id/label/prediction violations."""
    ids = df["sample_id"].astype(str).tolist()
    out = id_violations(ids, set(truth))
    preds = pd.to_numeric(df["prediction"], errors="coerce")
    if preds.isna().any() or not np.all(np.mod(preds, 1) == 0) or preds.min() < 0 or preds.max() >= len(classes):
        out.append(f"predictions.parquet: predictions must be integer labels in [0, {len(classes)})")
    if out:
        return None, out
    labels = np.array([truth[i] for i in ids])
    wrong = int(np.sum(pd.to_numeric(df["label"], errors="coerce").to_numpy() != labels))
    if wrong:
        out.append(f"predictions.parquet: label column disagrees with the benchmark for {wrong} sample(s)")
    return score(labels, preds.to_numpy(dtype=np.int64), classes), out


def metric_violations(reported: dict, recomputed: dict, tol: float = TOLERANCE) -> list[str]:
    """Reported metrics that differ from the recomputed ones by more than `tol`."""
    out = []
    for key in ("test_oa_best_val", "test_macro_f1_best_val"):
        got = reported.get(key)
        if not isinstance(got, (int, float)) or abs(got - recomputed[key]) > tol:
            out.append(f"metrics.{key}: reports {got!r} but predictions give {recomputed[key]:.6f}")
    rep_pc, rec_pc = reported.get("per_class_acc") or {}, recomputed["per_class_acc"]
    if set(rep_pc) != set(rec_pc):
        out.append(f"metrics.per_class_acc: classes {sorted(rep_pc)} differ from the test classes {sorted(rec_pc)}")
    else:
        bad = sorted(k for k in rec_pc if not isinstance(rep_pc[k], (int, float)) or abs(rep_pc[k] - rec_pc[k]) > tol)
        if bad:
            out.append(f"metrics.per_class_acc: differs from the predictions for {', '.join(bad)}")
    return out


def size_violations(paths: list[Path], limit: int = MAX_FILE_BYTES) -> list[str]:
    """Files larger than `limit` bytes."""
    return [
        f"{p.name}: {p.stat().st_size} bytes exceeds the {limit} byte limit"
        for p in paths
        if p.is_file() and p.stat().st_size > limit
    ]
