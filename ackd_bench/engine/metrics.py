"""Classification metrics (OA, macro-F1, per-class accuracy; multi-label mAP/F1/subset accuracy) and the metrics.jsonl log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ackd_bench.io import atomic_write_text
from ackd_bench.runtime import distributed, faults


def overall_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of correct predictions (0.0 for an empty set)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    return float((pred == labels).mean()) if len(labels) else 0.0


def macro_f1(pred: np.ndarray, labels: np.ndarray) -> float:
    """Macro-F1 over the classes present in labels or predictions (sklearn's f1_score(average="macro"))."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    classes = np.union1d(pred, labels)
    if len(classes) == 0:
        return 0.0
    scores = []
    for c in classes:
        tp = int(np.sum((pred == c) & (labels == c)))
        fp = int(np.sum((pred == c) & (labels != c)))
        fn = int(np.sum((pred != c) & (labels == c)))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def per_class_accuracy(pred: np.ndarray, labels: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Recall of every class with samples, keyed by class name (classes without samples are left out)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    out: dict[str, float] = {}
    for k, name in enumerate(class_names):
        mask = labels == k
        if mask.any():
            out[name] = float((pred[mask] == k).mean())
    return out


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """Area under the precision-recall step curve for one class (sklearn's average_precision_score):
    sum over distinct score thresholds of (recall gain) x precision. NaN when there is no positive."""
    scores, positives = np.asarray(scores, dtype=np.float64), np.asarray(positives).astype(bool)
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    scores, positives = scores[order], positives[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # last index of each distinct score
    tp = np.cumsum(positives)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def multilabel_metrics(logits: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Multi-label metrics of (N, K) logits against (N, K) 0/1 targets.

    - `map`: mean over classes with at least one positive of the average precision of sigmoid(logits);
    - `micro_f1`, `macro_f1`: F1 of the predictions sigmoid(logit) >= 0.5 (i.e. logit >= 0; the
      official code thresholded raw logits at 0.5), micro over all (sample, class) cells, macro over
      the classes with a positive target or prediction (as `macro_f1`);
    - `subset_accuracy`: fraction of samples whose whole predicted label set is exactly right.
    All 0.0 for an empty set.
    """
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets).astype(bool)
    if logits.shape != targets.shape or logits.ndim != 2:
        raise ValueError(f"logits {logits.shape} and targets {targets.shape} must both be (N, K)")
    if len(targets) == 0:
        return {"map": 0.0, "micro_f1": 0.0, "macro_f1": 0.0, "subset_accuracy": 0.0}
    probs = 1.0 / (1.0 + np.exp(-logits))
    pred = probs >= 0.5
    aps = [average_precision(probs[:, k], targets[:, k]) for k in range(targets.shape[1]) if targets[:, k].any()]
    tp = (pred & targets).sum(0)
    fp = (pred & ~targets).sum(0)
    fn = (~pred & targets).sum(0)
    micro_denom = 2 * tp.sum() + fp.sum() + fn.sum()
    present = (tp + fp + fn) > 0
    per_class = 2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])
    return {
        "map": float(np.mean(aps)) if aps else 0.0,
        "micro_f1": float(2 * tp.sum() / micro_denom) if micro_denom else 0.0,
        "macro_f1": float(per_class.mean()) if present.any() else 0.0,
        "subset_accuracy": float((pred == targets).all(1).mean()),
    }


class MetricsLog:
    """RUN_DIR/metrics.jsonl: one JSON line per epoch, rewritten atomically after each epoch.

    On resume `truncate(n)` keeps only epochs < n, so a resumed run never duplicates lines.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: list[dict[str, Any]] = []
        if self.path.is_file():
            self.rows = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def truncate(self, num_epochs: int) -> None:
        """Keep the lines of epochs < `num_epochs` (a resume drops the lines after its checkpoint)."""
        self.rows = [r for r in self.rows if r["epoch"] < num_epochs]
        self._write()

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._write()
        faults.reached("epoch_logged")  # crash tests (runtime/faults.py); a no-op otherwise

    def _write(self) -> None:
        if not distributed.is_main():  # under torchrun only rank 0 writes the run folder
            return
        text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in self.rows)
        atomic_write_text(self.path, text)
