"""A linear probe on per-band image statistics: the floor a trained teacher should clear.

Features per image and band: mean, standard deviation and the 10th/90th percentiles of the raw values
(DN for MS tiles, 0-255 for RGB), standardised with the train split's moments. The classifier is a
multinomial logistic regression (L2 penalty, full-batch L-BFGS, float64, fixed iterations): deterministic,
no scikit-learn. `teacher_check` puts the teacher's test OA next to probes on the same train/test splits.
"""

from __future__ import annotations

import numpy as np
import torch

RGB_BANDS_MS = ("B04", "B03", "B02")


def band_statistics(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images -> (N, 4 C) features: per band mean, std, 10th and 90th percentile."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), x.shape[1], -1)
    q10, q90 = np.percentile(flat, [10, 90], axis=2)
    return np.concatenate([flat.mean(2), flat.std(2), q10, q90], axis=1)


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    l2: float = 1e-3,
    iterations: int = 200,
) -> float:
    """Test OA of a multinomial logistic regression fitted on (train_x, train_y)."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-8
    xs = torch.from_numpy((train_x - mean) / std)
    xt = torch.from_numpy((test_x - mean) / std)
    y = torch.from_numpy(np.array(train_y, dtype=np.int64))
    k = int(max(train_y.max(), test_y.max())) + 1
    w = torch.zeros(xs.shape[1], k, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xs @ w + b, y) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = (xt @ w + b).argmax(1).numpy()
    return float((pred == np.asarray(test_y)).mean()) if len(test_y) else 0.0


def probe_pool(bench, pool: str, bands: list[str] | None = None) -> float:
    """Probe OA on `pool`'s test split, fitted on its train split (teacher: over `bands`; student: RGB)."""
    train = bench.load_arrays(pool, "train", bands=bands) if pool == "teacher" else bench.load_arrays(pool, "train")
    test = bench.load_arrays(pool, "test", bands=bands) if pool == "teacher" else bench.load_arrays(pool, "test")
    return linear_probe(
        band_statistics(train.x), np.asarray(train.labels), band_statistics(test.x), np.asarray(test.labels)
    )


def probes(bench, bands: list[str] | None = None) -> dict[str, float]:
    """Probe OAs: teacher pool over the teacher bands and over its RGB bands only, and the student pool (RGB)."""
    bands = list(bench.run_bands(bands))
    out = {"probe_teacher_ms": probe_pool(bench, "teacher", bands)}
    rgb = [b for b in RGB_BANDS_MS if b in bench.available_bands]
    if len(rgb) == 3:
        out["probe_teacher_rgb"] = probe_pool(bench, "teacher", rgb)
    out["probe_student_rgb"] = probe_pool(bench, "student")
    return out


def teacher_check(bench, cfg: dict, device: torch.device, quiet: bool = True) -> dict:
    """The teacher's test OA (trained or from the cache, as `run` would) next to the band-statistics probes."""
    from ackd_bench.engine.teacher import get_teacher

    record = get_teacher(bench, cfg, device, quiet=quiet)
    info = record.info
    return {
        "teacher_test_oa": float(info["test_oa"]),
        "teacher_val_oa": float(info["val_oa_best"]),
        "teacher_best_val_epoch": int(info["best_val_epoch"]),
        "teacher_epochs": len(info["history"]),
        "teacher_arch": info["arch"],
        **probes(bench, info["bands"]),
    }
