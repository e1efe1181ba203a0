"""Classification metrics (OA, macro-F1, per-class accuracy) and the metrics.jsonl log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ackd_bench.engine import distributed, faults
from ackd_bench.io import atomic_write_text


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
        self.rows = [r for r in self.rows if r["epoch"] < num_epochs]
        self._write()

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._write()
        faults.reached("epoch_logged")  # crash tests (engine/faults.py); a no-op otherwise

    def _write(self) -> None:
        if not distributed.is_main():  # under torchrun only rank 0 writes the run folder
            return
        text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in self.rows)
        atomic_write_text(self.path, text)
