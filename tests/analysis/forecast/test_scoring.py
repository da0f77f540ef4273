"""Known-answer tests of the proper scores (closed forms, scoringrules, the project's CRPS)."""

import numpy as np
import scoringrules as sr
from scipy import stats

from sim.analysis import observed as O
from sim.analysis.forecast import scoring as S

GRID = 200


def test_crps_poisson_matches_scoringrules_and_project():
    mean = np.array([0.5, 3.0, 12.0, 40.0])
    y = np.array([0, 5, 7, 52])
    pmf = S.nb_pmf(mean, mean, GRID)
    ours = S.crps(pmf, y)
    np.testing.assert_allclose(ours, sr.crps_poisson(y, mean), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours, O.crps_count(mean, mean, y), rtol=1e-6, atol=1e-8)


def test_crps_negbinom_matches_scoringrules():
    mean, var = np.array([4.0, 20.0]), np.array([10.0, 120.0])
    y = np.array([1, 33])
    n, p = mean**2 / (var - mean), mean / var
    ours = S.crps(S.nb_pmf(mean, var, GRID), y)
    np.testing.assert_allclose(ours, sr.crps_negbinom(y, n, p), rtol=1e-5)


def test_point_mass_crps_is_absolute_error_and_log_score_is_zero_or_floor():
    pmf = np.zeros((3, GRID))
    pmf[:, 10] = 1.0
    y = np.array([10, 4, 17])
    np.testing.assert_allclose(S.crps(pmf, y), [0.0, 6.0, 7.0])
    ls = S.log_score(pmf, y, np.array(["exact"] * 3))
    assert ls[0] == 0.0 and ls[1] == S.LOG_FLOOR
    # a point mass at 10 is consistent with "at least 4", not with "at least 17"
    low = S.log_score(pmf, np.array([4, 17, 10]), np.array(["lower"] * 3))
    np.testing.assert_allclose(low, [0.0, S.LOG_FLOOR, 0.0])


def test_log_score_of_bounds_matches_project_count_logprob():
    mean, var = np.array([8.0, 30.0, 30.0]), np.array([20.0, 30.0, 90.0])
    c, b = np.array([6, 32, 25]), np.array(["exact", "lower", "approx"])
    ours = S.log_score(S.nb_pmf(mean, var, GRID), c, b)
    np.testing.assert_allclose(ours, O.count_logprob(mean, var, c, b), rtol=1e-6)


def test_wis_of_point_mass_is_absolute_error():
    pmf = np.zeros((2, GRID))
    pmf[:, 5] = 1.0
    # all quantiles equal 5: WIS reduces to |y - 5| (scoringrules' normalisation)
    w = S.wis(pmf, np.array([5, 9]))
    assert w[0] == 0.0 and w[1] > 0.0
    # WIS approximates CRPS for a fine quantile set: same order as CRPS here
    assert abs(w[1] - 4.0) < 1e-9


def test_pit_is_uniform_for_calibrated_forecasts():
    rng = np.random.default_rng(1)
    mean = rng.uniform(1, 30, 3000)
    y = rng.poisson(mean)
    u = S.pit(S.nb_pmf(mean, mean, GRID), y, np.array(["exact"] * len(y)), rng)
    assert stats.kstest(u, "uniform").pvalue > 0.01
    # a forecast biased low puts PIT mass near 1
    u_low = S.pit(S.nb_pmf(mean / 2, mean / 2, GRID), y, np.array(["exact"] * len(y)), rng)
    assert np.mean(u_low > 0.9) > 0.4


def test_block_bootstrap_interval_covers_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    m, lo, hi = S.block_bootstrap_mean(rng.normal(1.0, 1.0, 50), block=3)
    assert lo < m < hi and lo < 1.0 < hi + 0.5
    m2, lo2, hi2 = S.block_bootstrap_mean(rng.normal(1.0, 1.0, 2000), block=3)
    assert hi2 - lo2 < (hi - lo) / 3
    assert np.isnan(S.block_bootstrap_mean(np.array([np.nan]))[0])
