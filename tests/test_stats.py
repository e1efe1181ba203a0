"""ackd_bench.report.stats: hand-computed small cases, agreement with scipy, determinism, ties and resolution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from ackd_bench.report import stats


def _correct(n: int, right: int, rng: np.random.Generator | None = None) -> np.ndarray:
    v = np.zeros(n)
    v[:right] = 1
    return rng.permutation(v) if rng is not None else v


def test_hierarchical_mean_by_hand_and_degenerate_cases():
    mean, lo, hi = stats.hierarchical_bootstrap_ci({0: [1, 1, 0, 0], 1: [1, 1, 1, 0]})
    assert mean == pytest.approx(62.5)  # (50 + 75) / 2
    assert 0 <= lo <= mean <= hi <= 100
    assert stats.hierarchical_bootstrap_ci({0: np.ones(5), 3: np.ones(7)}) == (100.0, 100.0, 100.0)
    # identical seeds: only image resampling is left, the CI is not degenerate
    mean, lo, hi = stats.hierarchical_bootstrap_ci({s: _correct(20, 10) for s in range(3)})
    assert mean == 50.0 and lo < 50 < hi


def test_hierarchical_one_seed_matches_scipy_percentile_bootstrap():
    v = _correct(200, 140, np.random.default_rng(1))
    mean, lo, hi = stats.hierarchical_bootstrap_ci({0: v}, n_resamples=20000, seed=3)
    ref = sps.bootstrap((v,), np.mean, n_resamples=20000, method="percentile", random_state=4).confidence_interval
    assert mean == pytest.approx(70.0)
    assert lo == pytest.approx(100 * ref.low, abs=0.6) and hi == pytest.approx(100 * ref.high, abs=0.6)


def test_seed_variance_widens_the_interval():
    same = {s: _correct(100, 70, np.random.default_rng(s)) for s in range(4)}
    spread = {s: _correct(100, right, np.random.default_rng(s)) for s, right in enumerate([55, 85, 60, 80])}
    _, lo1, hi1 = stats.hierarchical_bootstrap_ci(same)
    _, lo2, hi2 = stats.hierarchical_bootstrap_ci(spread)
    assert hi2 - lo2 > hi1 - lo1


def test_bootstrap_is_deterministic_given_a_seed():
    data = {s: _correct(50, 30 + s, np.random.default_rng(s)) for s in range(3)}
    assert stats.hierarchical_bootstrap_ci(data, seed=7) == stats.hierarchical_bootstrap_ci(data, seed=7)
    assert stats.hierarchical_bootstrap_ci(data, seed=7) != stats.hierarchical_bootstrap_ci(data, seed=8)
    other = {s: _correct(50, 25 + s, np.random.default_rng(10 + s)) for s in range(3)}
    assert stats.paired_difference(data, other, seed=1) == stats.paired_difference(data, other, seed=1)
    strata = {"a": [0.1, 0.5, 0.9], "b": [0.3, 0.4]}
    assert stats.iqm_ci(strata, seed=2) == stats.iqm_ci(strata, seed=2)
    assert stats.mean_rank_ci({"x": strata, "y": {"a": [0.2], "b": [0.9]}}, seed=2) == stats.mean_rank_ci(
        {"x": strata, "y": {"a": [0.2], "b": [0.9]}}, seed=2
    )


def test_mcnemar_exact_by_hand():
    # 6 images only a gets right, 1 only b, 3 both, 2 neither: binomial(7, 1/2) two-sided = 2 * (1 + 7) / 128
    a = np.array([1] * 6 + [0] + [1] * 3 + [0] * 2)
    b = np.array([0] * 6 + [1] + [1] * 3 + [0] * 2)
    assert stats.mcnemar_exact_p(a, b) == pytest.approx(16 / 128)
    assert stats.mcnemar_exact_p(a, a) == 1.0  # no discordant image
    with pytest.raises(ValueError):
        stats.mcnemar_exact_p(a, b[:-1])


def test_combined_p_is_twice_the_mean_capped():
    assert stats.combine_dependent_p([0.01, 0.03]) == pytest.approx(0.04)
    assert stats.combine_dependent_p([0.6, 0.9]) == 1.0


def test_sign_flip_by_hand_and_against_scipy():
    assert stats.sign_flip_p([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)
    assert stats.sign_flip_p([1.0, -1.0]) == pytest.approx(1.0)
    d = np.array([0.1, 0.25, -0.05, 0.3, 0.2])
    ref = sps.permutation_test(
        (d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples", n_resamples=np.inf
    ).pvalue
    assert stats.sign_flip_p(d) == pytest.approx(ref)


def test_paired_difference_by_hand():
    a = {0: np.array([1, 1, 1, 0]), 1: np.array([1, 1, 0, 0]), 5: np.array([1, 0, 0, 0])}
    b = {0: np.array([1, 0, 0, 0]), 1: np.array([1, 1, 0, 0])}
    r = stats.paired_difference(a, b)
    assert (r.n_seeds, r.n_images) == (2, 8)  # seed 5 is not shared
    assert r.mean_diff == pytest.approx(25.0)  # (50 + 0) / 2 points
    assert r.lo <= r.mean_diff <= r.hi
    assert r.p_mcnemar_by_seed == pytest.approx((0.5, 1.0))  # 2 discordant, both for a: 2 * 1/4
    assert r.p_mcnemar == 1.0  # min(1, 2 * 0.75)
    assert r.p_sign_flip == pytest.approx(1.0)  # diffs (0.5, 0): |mean| reached by every sign pattern but none
    with pytest.raises(ValueError):
        stats.paired_difference(a, {9: np.ones(4)})


def test_two_identical_methods_are_tied():
    rng = np.random.default_rng(0)
    runs = {s: _correct(100, 70, rng) for s in range(3)}
    r = stats.paired_difference(runs, {s: v.copy() for s, v in runs.items()})
    assert (r.mean_diff, r.lo, r.hi, r.p_mcnemar, r.p_sign_flip) == (0.0, 0.0, 0.0, 1.0, 1.0)
    # two methods of the same accuracy with independent errors: the CI covers 0 and no test resolves them
    other = {s: _correct(100, 70, rng) for s in range(3)}
    r = stats.paired_difference(runs, other)
    assert r.lo < 0 < r.hi and r.p_mcnemar > 0.05 and r.p_sign_flip > 0.05


def test_a_clearly_better_method_is_resolved():
    rng = np.random.default_rng(1)
    good = {s: _correct(200, 180, rng) for s in range(3)}
    bad = {s: _correct(200, 120, rng) for s in range(3)}
    r = stats.paired_difference(good, bad)
    assert r.mean_diff == pytest.approx(30.0)
    assert r.lo > 0 and r.p_mcnemar < 1e-6
    assert r.p_sign_flip == pytest.approx(0.25)  # 3 seeds can never go below 2/8: why McNemar is the main test


def test_holm_by_hand():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    out = stats.holm([0.02, float("nan"), 0.9])
    assert out[0] == pytest.approx(0.04) and np.isnan(out[1]) and out[2] == pytest.approx(0.9)


def test_iqm_by_hand_and_against_scipy():
    assert stats.iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    x = np.random.default_rng(2).normal(size=37)
    assert stats.iqm(x) == pytest.approx(sps.trim_mean(x, 0.25))


def test_iqm_stratified_ci():
    point, lo, hi = stats.iqm_ci({"a": [0.2, 0.4, 0.6], "b": [0.5, 0.7]})
    assert point == pytest.approx(stats.iqm([0.2, 0.4, 0.6, 0.5, 0.7]))
    assert lo <= point <= hi
    assert stats.iqm_ci({"a": [0.3, 0.3], "b": [0.3]}) == pytest.approx((0.3, 0.3, 0.3))


def test_probability_of_improvement_by_hand_and_against_scipy():
    p, lo, hi, n = stats.probability_of_improvement({"t": [1, 2]}, {"t": [1, 0]})
    assert p == pytest.approx(3.5 / 4) and n == 1 and lo <= p <= hi
    rng = np.random.default_rng(3)
    x = {"t1": rng.normal(size=5), "t2": rng.normal(size=4), "only_x": [1.0]}
    y = {"t1": rng.normal(size=3), "t2": rng.normal(size=6)}
    ref = np.mean([sps.mannwhitneyu(x[t], y[t]).statistic / (len(x[t]) * len(y[t])) for t in ("t1", "t2")])
    p, _, _, n = stats.probability_of_improvement(x, y)
    assert p == pytest.approx(ref) and n == 2
    same = stats.probability_of_improvement({"t": [0.5, 0.6]}, {"t": [0.5, 0.6]})
    assert same[0] == pytest.approx(0.5)


def test_mean_rank_by_hand_with_a_missing_cell():
    scores = {"A": {"t1": [0.9], "t2": [0.5]}, "B": {"t1": [0.8], "t2": [0.7]}, "C": {"t1": [0.1]}}
    out = stats.mean_rank_ci(scores)
    assert out["A"][0] == pytest.approx(1.5) and out["B"][0] == pytest.approx(1.5)
    assert out["C"] == pytest.approx((3.0, 3.0, 3.0))  # ranked only where it has a score
    noisy = {"A": {"t": [0.9, 0.1]}, "B": {"t": [0.5, 0.5]}}
    (a, lo, hi), b = stats.mean_rank_ci(noisy)["A"], stats.mean_rank_ci(noisy)["B"]
    assert (lo, hi) == (1.0, 2.0) and a == pytest.approx(1.5) and b[0] == pytest.approx(1.5)


def test_normalised_score():
    assert stats.normalised(0.8, 0.6, 1.0) == pytest.approx(0.5)
    assert np.allclose(stats.normalised(np.array([0.6, 1.0]), 0.6, 1.0), [0.0, 1.0])
    assert np.isnan(stats.normalised(0.8, 0.7, 0.7))


def test_unpaired_difference_ci():
    a = {0: _correct(50, 40), 1: _correct(50, 42)}
    b = {0: _correct(80, 40)}
    d, lo, hi = stats.difference_ci(a, b)
    assert d == pytest.approx(82.0 - 50.0) and lo < d < hi and lo > 0
    assert stats.difference_ci(a, a)[0] == 0.0
