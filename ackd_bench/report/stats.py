"""Statistics of the leaderboard (docs/leaderboard.md, "How the numbers are computed"): pure numpy/scipy functions.

Inputs are per-image correctness vectors (1 = the run predicted that test image right) keyed by seed; every
method of a benchmark is scored on the same test images, so two methods' vectors of one seed are aligned
image by image (the caller aligns them by sample id). Every resampling function takes a `seed` and gives the
same output for the same input and seed. Accuracies and differences are returned in percent (points).

- `hierarchical_bootstrap_ci`: a cell's mean OA with a percentile CI; resample seeds, then images within
  each drawn seed (a resample of n 0/1 values with replacement is drawn as its value counts, a multinomial
  with the observed frequencies: the same distribution as drawing indices, at a fraction of the cost).
- `paired_difference`: two methods on shared seeds and images: mean OA difference with the same hierarchical
  bootstrap on the per-image differences; an exact McNemar p per seed, combined across seeds as twice their
  mean (valid under any dependence between the seeds' tests, which share the test images; Rüschendorf 1982,
  Vovk & Wang 2020); and the exact sign-flip test on the per-seed OA differences.
- `holm`: Holm's step-down adjusted p-values.
- `iqm`, `iqm_ci` (bootstrap stratified by task), `probability_of_improvement` (Mann-Whitney per task,
  averaged over tasks), `mean_rank_ci` (mean rank over tasks with a bootstrap interval); rliable's
  definitions (Agarwal et al. 2021), reimplemented here.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

N_RESAMPLES = 2000
LEVEL = 0.95


def _vector(x: object) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if a.size == 0:
        raise ValueError("empty vector")
    return a


def _resampled_means(values: np.ndarray, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Means of `size` resamples (with replacement, of len(values) items) of `values`, drawn as value counts."""
    uniq, counts = np.unique(values, return_counts=True)
    n = len(values)
    draws = rng.multinomial(n, counts / n, size=size)  # size + (len(uniq),)
    return draws @ uniq / n


def _hierarchical_means(vectors: list[np.ndarray], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """n_resamples bootstrap values of mean_s mean(vectors[s]): seeds drawn with replacement, then images."""
    k = len(vectors)
    picks = rng.integers(0, k, size=(n_resamples, k))
    inner = np.stack([_resampled_means(v, (n_resamples, k), rng) for v in vectors])  # (k seeds, B, k slots)
    rows, slots = np.indices((n_resamples, k))
    return inner[picks, rows, slots].mean(axis=1)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(samples, [tail, 100 - tail], axis=-1)
    return float(lo), float(hi)


def _by_seed(values: Mapping[int, object]) -> list[np.ndarray]:
    if not values:
        raise ValueError("no seeds")
    return [_vector(values[s]) for s in sorted(values)]


def hierarchical_bootstrap_ci(
    correct_by_seed: Mapping[int, np.ndarray], n_resamples: int = N_RESAMPLES, level: float = LEVEL, seed: int = 0
) -> tuple[float, float, float]:
    """(mean OA %, lo, hi): the mean over seeds of each seed's OA, with a percentile CI at `level` from a
    hierarchical bootstrap (seeds with replacement, then test images with replacement within each drawn seed)."""
    vectors = _by_seed(correct_by_seed)
    mean = float(np.mean([v.mean() for v in vectors]))
    boot = _hierarchical_means(vectors, n_resamples, np.random.default_rng(seed))
    lo, hi = _interval(boot, level)
    return 100 * mean, 100 * lo, 100 * hi


def mcnemar_exact_p(a_correct: np.ndarray, b_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p: a binomial test (p = 1/2) on the discordant images (1.0 when there are none)."""
    a, b = _vector(a_correct).astype(bool), _vector(b_correct).astype(bool)
    if a.shape != b.shape:
        raise ValueError("McNemar needs the two runs' predictions on the same images")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if only_a + only_b == 0:
        return 1.0
    return float(sps.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def combine_dependent_p(pvalues: Sequence[float]) -> float:
    """min(1, 2 * mean(p)): a valid combined p-value whatever the dependence between the tests."""
    p = np.asarray(pvalues, dtype=float)
    return float(min(1.0, 2.0 * p.mean())) if p.size else float("nan")


def sign_flip_p(diffs: Sequence[float]) -> float:
    """Two-sided exact sign-flip permutation p-value of the mean paired difference (all 2^n sign patterns)."""
    diffs = np.asarray(diffs, dtype=float)
    observed = abs(diffs.mean())
    signs = np.array(list(itertools.product([1.0, -1.0], repeat=len(diffs))))
    means = np.abs((signs * diffs).mean(axis=1))
    return float(np.mean(means >= observed - 1e-12))


@dataclass(frozen=True)
class PairedResult:
    """Method a minus method b on shared seeds and test images (OA points)."""

    mean_diff: float
    lo: float
    hi: float
    n_seeds: int
    n_images: int
    p_mcnemar: float  # combined over seeds: min(1, 2 * mean of the per-seed exact McNemar p-values)
    p_sign_flip: float  # exact sign-flip test on the per-seed OA differences
    p_mcnemar_by_seed: tuple[float, ...]


def paired_difference(
    a_by_seed: Mapping[int, np.ndarray],
    b_by_seed: Mapping[int, np.ndarray],
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
    max_sign_flip_seeds: int = 16,
) -> PairedResult:
    """a vs b on the seeds both have (vectors of one seed aligned image by image); raises ValueError if none.

    CI: hierarchical paired bootstrap of the per-image differences a - b (seeds, then images). The sign-flip
    test uses at most `max_sign_flip_seeds` shared seeds (the smallest), so it stays at 2^16 patterns.
    """
    shared = sorted(set(a_by_seed) & set(b_by_seed))
    if not shared:
        raise ValueError("no shared seeds")
    a = [_vector(a_by_seed[s]) for s in shared]
    b = [_vector(b_by_seed[s]) for s in shared]
    if any(x.shape != y.shape for x, y in zip(a, b)):
        raise ValueError("a paired comparison needs both runs' predictions on the same test images")
    diffs = [x - y for x, y in zip(a, b)]
    seed_diffs = np.array([d.mean() for d in diffs])
    boot = _hierarchical_means(diffs, n_resamples, np.random.default_rng(seed))
    lo, hi = _interval(boot, level)
    by_seed = tuple(mcnemar_exact_p(x, y) for x, y in zip(a, b))
    return PairedResult(
        mean_diff=100 * float(seed_diffs.mean()),
        lo=100 * lo,
        hi=100 * hi,
        n_seeds=len(shared),
        n_images=int(sum(len(d) for d in diffs)),
        p_mcnemar=combine_dependent_p(by_seed),
        p_sign_flip=sign_flip_p(seed_diffs[:max_sign_flip_seeds]),
        p_mcnemar_by_seed=by_seed,
    )


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input order (NaN stays NaN and is not counted)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out


def iqm(scores: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% (scipy.stats.trim_mean with 25% cut at each end)."""
    return float(sps.trim_mean(_vector(scores), 0.25))


def _stratified_resample(strata: list[np.ndarray], n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, total) resamples: each stratum's values drawn with replacement within the stratum."""
    parts = [s[rng.integers(0, len(s), size=(n_resamples, len(s)))] for s in strata]
    return np.concatenate(parts, axis=1)


def _strata(by_stratum: Mapping[object, Sequence[float]]) -> list[np.ndarray]:
    if not by_stratum:
        raise ValueError("no strata")
    return [_vector(by_stratum[k]) for k in sorted(by_stratum, key=str)]


def iqm_ci(
    by_stratum: Mapping[object, Sequence[float]], n_resamples: int = N_RESAMPLES, level: float = LEVEL, seed: int = 0
) -> tuple[float, float, float]:
    """(IQM of all scores, lo, hi): percentile CI from a bootstrap stratified by task (runs resampled within
    each stratum, e.g. the seeds of one (benchmark, pair)), as rliable / GEO-Bench do."""
    strata = _strata(by_stratum)
    point = iqm(np.concatenate(strata))
    boot = sps.trim_mean(_stratified_resample(strata, n_resamples, np.random.default_rng(seed)), 0.25, axis=1)
    lo, hi = _interval(boot, level)
    return point, lo, hi


def _p_greater(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 for samples along the last axis (broadcast over leading axes)."""
    gt = (x[..., :, None] > y[..., None, :]).mean(axis=(-2, -1))
    eq = (x[..., :, None] == y[..., None, :]).mean(axis=(-2, -1))
    return gt + 0.5 * eq


def probability_of_improvement(
    x_by_task: Mapping[object, Sequence[float]],
    y_by_task: Mapping[object, Sequence[float]],
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """(P(X > Y), lo, hi, tasks): per shared task, P(a run of X scores above a run of Y), ties counting one half
    (the Mann-Whitney U / (n m)); averaged over the tasks both have; CI from a bootstrap of runs within each
    task and method. Raises ValueError without a shared task."""
    tasks = sorted(set(x_by_task) & set(y_by_task), key=str)
    if not tasks:
        raise ValueError("no shared task")
    rng = np.random.default_rng(seed)
    point, boot = [], []
    for t in tasks:
        x, y = _vector(x_by_task[t]), _vector(y_by_task[t])
        point.append(float(_p_greater(x, y)))
        xb = x[rng.integers(0, len(x), size=(n_resamples, len(x)))]
        yb = y[rng.integers(0, len(y), size=(n_resamples, len(y)))]
        boot.append(_p_greater(xb, yb))
    lo, hi = _interval(np.mean(boot, axis=0), level)
    return float(np.mean(point)), lo, hi, len(tasks)


def _mean_ranks(table: np.ndarray) -> np.ndarray:
    """Mean over tasks (last axis) of each method's (second-last axis) rank: 1 = highest score, ties averaged;
    NaN = no score: ranked among the methods that have the task, averaged over the tasks a method has."""
    ranks = sps.rankdata(-table, axis=-2, nan_policy="omit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(ranks, axis=-1)


def mean_rank_ci(
    scores: Mapping[str, Mapping[object, Sequence[float]]],
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """{method: (mean rank, lo, hi)}: per task, methods ranked by their mean score over runs (1 = best); a
    method's mean rank is over the tasks it has. Interval: percentile of the mean rank when each (method,
    task)'s runs are resampled with replacement."""
    methods = sorted(scores)
    tasks = sorted({t for m in methods for t in scores[m]}, key=str)
    runs = {(i, j): _vector(scores[m][t]) for i, m in enumerate(methods) for j, t in enumerate(tasks) if t in scores[m]}
    table = np.full((len(methods), len(tasks)), np.nan)
    for (i, j), v in runs.items():
        table[i, j] = v.mean()
    rng = np.random.default_rng(seed)
    boot_tables = np.full((n_resamples, len(methods), len(tasks)), np.nan)
    for (i, j), v in runs.items():
        boot_tables[:, i, j] = v[rng.integers(0, len(v), size=(n_resamples, len(v)))].mean(axis=1)
    boot = _mean_ranks(boot_tables)  # (B, methods)
    point = _mean_ranks(table)
    out = {}
    for i, m in enumerate(methods):
        lo, hi = _interval(boot[:, i], level)
        out[m] = (float(point[i]), lo, hi)
    return out


def normalised(oa: float | np.ndarray, low: float, high: float) -> float | np.ndarray:
    """(oa - low) / (high - low): 0 = the `low` reference (student only), 1 = the `high` one (SCKD reference).
    NaN when the references coincide (the scale is undefined)."""
    span = high - low
    if not np.isfinite(span) or span == 0:
        return np.full(np.shape(oa), np.nan) if np.ndim(oa) else float("nan")
    return (np.asarray(oa, dtype=float) - low) / span if np.ndim(oa) else (float(oa) - low) / span


def difference_ci(
    a_by_seed: Mapping[int, np.ndarray],
    b_by_seed: Mapping[int, np.ndarray],
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean OA of a minus mean OA of b in points, lo, hi) for two cells that share no test images (e.g. two
    benchmark builds): independent hierarchical bootstraps of each, percentile CI of their difference."""
    rng = np.random.default_rng(seed)
    a, b = _by_seed(a_by_seed), _by_seed(b_by_seed)
    boot = _hierarchical_means(a, n_resamples, rng) - _hierarchical_means(b, n_resamples, rng)
    lo, hi = _interval(boot, level)
    point = float(np.mean([v.mean() for v in a]) - np.mean([v.mean() for v in b]))
    return 100 * point, 100 * lo, 100 * hi
