import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibrate import baselines as B
from sim.analysis.observed import load_observed_events


def _ts(windows, counts, bounds=None, factor=None):
    s = np.array([w[0] for w in windows])
    e = np.array([w[1] for w in windows])
    n = len(windows)
    return B.TallySet(
        ids=tuple(f"X{i}" for i in range(n)),
        start=s,
        end=e,
        count=np.asarray(counts, dtype=np.int64),
        bound=np.asarray(bounds or ["exact"] * n),
        factor=np.asarray(factor if factor is not None else np.ones(n), dtype=float),
    )


def _ctx(n_days, holdout_day, recon=None, strike=None, truce=None):
    return B.Context(
        holdout_day=holdout_day,
        strike=np.zeros(n_days) if strike is None else strike,
        truce=np.zeros(n_days) if truce is None else truce,
        recon=np.zeros(holdout_day) if recon is None else recon,
    )


# --- Hawkes --------------------------------------------------------------------------------------


def test_hawkes_loglik_known_answers():
    t = np.array([1.0, 4.0, 4.5])
    # no excitation: a Poisson process
    assert B.hawkes_loglik(0.3, 0.0, 1.0, t, 10.0) == pytest.approx(3 * math.log(0.3) - 3.0)
    # one event: log mu - mu T - n (1 - exp(-beta (T - t)))
    ll = B.hawkes_loglik(0.2, 0.5, 2.0, np.array([3.0]), 5.0)
    assert ll == pytest.approx(math.log(0.2) - 1.0 - 0.5 * (1 - math.exp(-4.0)))
    # two events: the second sees the first's excitation
    ll = B.hawkes_loglik(0.2, 0.5, 2.0, np.array([1.0, 2.0]), 3.0)
    expected = (
        math.log(0.2)
        + math.log(0.2 + 0.5 * 2.0 * math.exp(-2.0))
        - 0.6
        - 0.5 * (1 - math.exp(-4.0))
        - 0.5 * (1 - math.exp(-2.0))
    )
    assert ll == pytest.approx(expected)


def test_hawkes_mle_recovers_simulated_parameters():
    mu, n, beta = 0.3, 0.5, 0.5
    t = B.simulate_hawkes(mu, n, beta, 6000.0, seed=3)
    assert 2500 < len(t) < 4700  # expected mu T / (1 - n) = 3600
    mu_hat, n_hat, beta_hat = B.fit_hawkes(t, 6000.0)
    assert mu_hat == pytest.approx(mu, rel=0.25)
    assert n_hat == pytest.approx(n, abs=0.1)
    assert beta_hat == pytest.approx(beta, rel=0.4)


def test_hawkes_mle_of_a_poisson_process_finds_little_excitation():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 3000, size=1500))
    mu_hat, n_hat, _ = B.fit_hawkes(t, 3000.0)
    assert n_hat < 0.1
    assert mu_hat == pytest.approx(0.5, rel=0.1)


def test_simulated_counts_have_the_stationary_mean():
    mu, n, beta = 0.2, 0.5, 1.0
    sims = B.simulate_hawkes_counts(
        mu,
        n,
        beta,
        np.array([]),
        0.0,
        1000.0,
        np.array([[0.0, 1000.0], [500.0, 600.0]]),
        400,
        seed=5,
    )
    assert sims.shape == (400, 2)
    assert sims[:, 0].mean() == pytest.approx(mu * 1000 / (1 - n), rel=0.05)
    assert sims[:, 1].mean() == pytest.approx(mu * 100 / (1 - n), rel=0.1)
    # overdispersed relative to Poisson, as clustering implies
    assert sims[:, 0].var() > 1.5 * sims[:, 0].mean()


def test_history_excites_the_future():
    hist = np.arange(90.0, 100.0)  # ten events just before t = 100
    with_h = B.simulate_hawkes_counts(
        0.05, 0.6, 0.2, hist, 100.0, 110.0, np.array([[100.0, 110.0]]), 2000, seed=1
    )
    without = B.simulate_hawkes_counts(
        0.05, 0.6, 0.2, np.array([]), 100.0, 110.0, np.array([[100.0, 110.0]]), 2000, seed=1
    )
    assert with_h.mean() > 3 * without.mean()


# --- reconstruction and covariates ---------------------------------------------------------------


def test_reconstruct_matches_disjoint_exact_tallies():
    rate = B.reconstruct(_ts([(0, 9), (10, 19)], [10, 40]), 20)
    assert rate.shape == (20,)
    assert rate[:10].sum() == pytest.approx(10, rel=0.05)
    assert rate[10:].sum() == pytest.approx(40, rel=0.05)


def test_reconstruct_respects_lower_bounds_and_factors():
    # lower bound 30 on a window whose exact sub-window says 10: the rest carries >= 20
    rate = B.reconstruct(_ts([(0, 19), (0, 9)], [30, 10], ["lower", "exact"]), 20)
    assert rate[:10].sum() == pytest.approx(10, rel=0.1)
    assert rate.sum() >= 30 * 0.95
    # a tally counting twice the main series (factor 2) halves the rate
    rate = B.reconstruct(_ts([(0, 9)], [20], factor=[2.0]), 10)
    assert rate.sum() == pytest.approx(10, rel=0.05)


def test_reconstructed_times_are_evenly_spread():
    t = B.reconstructed_times(np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(t, [0.5, 1.5, 2.5, 3.5])


def test_indicators_from_the_observed_log():
    events = load_observed_events()
    day0 = pd.Timestamp("2019-10-01")
    strike, truce = B.indicators(events, day0, 600)
    d = (pd.Timestamp("2019-12-29") - day0).days
    assert strike[d] == 0 and strike[d + 1] == 1 and strike[d + 30] == 1
    t0 = (pd.Timestamp("2020-10-10") - day0).days
    t1 = (pd.Timestamp("2020-11-17") - day0).days
    assert truce[t0 - 1] == 0 and truce[t0] == 1 and truce[t1 - 1] == 1 and truce[t1] == 0
    assert truce.sum() == t1 - t0 + 4  # and the papal-visit pause, 4-8 Mar 2021


# --- the count baselines on hand examples --------------------------------------------------------


def test_climatology_rate_is_the_pooled_rate():
    train = _ts([(0, 9), (10, 19), (20, 29)], [10, 20, 30])
    m = B.Climatology()
    m.fit(train, _ctx(60, 30))
    assert m.rate == pytest.approx(2.0, rel=1e-3)
    mean, var = m.forecast(_ts([(30, 39)], [0]), _ctx(60, 30))
    assert mean[0] == pytest.approx(20.0, rel=1e-3) and var[0] > mean[0]


def test_climatology_on_lower_bounds_only_takes_the_rate_they_imply():
    # "at least 3 in 3 days": the likelihood grows without limit with the rate, so the MLE
    # would run off to any bound of the optimiser; the fit takes 1 a day, the smallest rate
    # consistent with the report
    m = B.Climatology()
    m.fit(_ts([(0, 2)], [3], bounds=["lower"]), _ctx(60, 3))
    assert m.rate == pytest.approx(1.0)
    mean, _ = m.forecast(_ts([(3, 32)], [0]), _ctx(60, 3))
    assert mean[0] == pytest.approx(30.0)
    # one exact report among the bounds: the maximum-likelihood fit as before
    both = _ts([(0, 2), (3, 12)], [3, 5], bounds=["lower", "exact"])
    m.fit(both, _ctx(60, 13))
    assert 0.3 < m.rate < 1.5


def test_persistence_carries_the_latest_rate_forward():
    train = _ts([(0, 9), (10, 19), (0, 19)], [10, 40, 50])
    m = B.Persistence()
    m.fit(train, _ctx(40, 20))
    assert m.source == "X1" and m.rate == pytest.approx(4.0)
    mean, _ = m.forecast(_ts([(20, 29)], [0], factor=[0.5]), _ctx(40, 20))
    assert mean[0] == pytest.approx(20.0)


def test_forecast_adds_the_reconstructed_past_of_an_overlapping_window():
    ctx = _ctx(40, 20, recon=np.full(20, 2.0))
    m = B.Persistence()
    m.fit(_ts([(10, 19)], [10]), ctx)  # 1 per day
    mean, var = m.forecast(_ts([(15, 24)], [0]), ctx)
    assert mean[0] == pytest.approx(5 * 2.0 + 5 * 1.0)


def test_nb_regression_recovers_a_strike_effect():
    rng = np.random.default_rng(4)
    n_days = 700
    strike = np.zeros(n_days)
    for s in (50, 250, 450):
        strike[s + 1 : s + 31] = 1.0
    lam = np.exp(np.log(0.5) + np.log(3.0) * strike)
    daily = rng.poisson(lam)
    windows = [(a, a + 9) for a in range(0, n_days, 10)]
    counts = [int(daily[a : b + 1].sum()) for a, b in windows]
    ctx = _ctx(n_days, n_days, strike=strike)
    m = B.NBRegression()
    m.fit(_ts(windows, counts), ctx)
    p = m.params()
    assert math.exp(p["b0"]) == pytest.approx(0.5, rel=0.15)
    assert math.exp(p["b_strike"]) == pytest.approx(3.0, rel=0.3)
    assert abs(p["b_truce"]) < 1e-3 and not m.informed["truce"]


def test_scores_leave_crps_undefined_for_lower_bounds():
    s = B.scores(
        np.array([5.0, 5.0]), np.array([5.0, 5.0]), np.array([5, 5]), np.array(["exact", "lower"])
    )
    assert np.isfinite(s["crps"][0]) and np.isnan(s["crps"][1])
    assert s["inside90"].tolist() == [True, True]
