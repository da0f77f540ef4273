"""The model-discrepancy term of the observation model (Kennedy & O'Hagan 2001)."""

import numpy as np
import pytest
from scipy import stats

from sim.analysis import observed as O
from sim.analysis.calibrate import observation as B


def test_discrepancy_moments_match_monte_carlo_of_the_predictive_factor():
    rng = np.random.default_rng(1)
    x = rng.poisson(20.0, size=(200_000, 1))
    y = B.perturb(x, (), 0.5, rng)
    m, v = B.discrepancy_moments(np.array([20.0]), np.array([20.0]), 0.5)
    assert y.mean() == pytest.approx(m[0], rel=0.01)
    # stochastic rounding adds at most 1/4 to the variance
    assert y.var() == pytest.approx(v[0], rel=0.03)
    assert v[0] == pytest.approx(1.25 * 20 + 0.25 * 400)


def test_zero_discrepancy_gives_the_likelihood_without_it():
    rng = np.random.default_rng(2)
    sim = rng.negative_binomial(5, 0.2, size=(60, 3)).astype(float)
    count, bound, p = np.array([18, 30, 4]), np.array(["exact", "approx", "lower"]), 0.8
    mt, vt = B.thin_moments(sim.mean(0), sim.var(0, ddof=1), np.full(3, p))
    old = O.count_logprob(mt, vt, count, bound)
    np.testing.assert_allclose(B.singleton_logprob(sim, count, bound, np.full(3, p), 0.0), old)
    # a chain: the old Gaussian of the increments, written out with scipy
    tot = np.cumsum(sim, axis=1)
    rep = np.array([20, 41, 60])
    dx = np.diff(tot, axis=1, prepend=0.0)
    mu = p * dx.mean(0)
    cov = p * p * np.cov(dx, rowvar=False) + np.diag(p * (1 - p) * dx.mean(0) + B.DISCRETE_VAR)
    want = stats.multivariate_normal(mu, cov).logpdf(np.diff(rep, prepend=0))
    ex = np.array(["exact"] * 3)
    assert B.chain_loglik(tot, rep, ex, p, 0.0) == pytest.approx(want, rel=1e-9)
    assert B.chain_loglik(tot, rep, ex, p) == pytest.approx(want, rel=1e-9)
    assert np.array_equal(B.perturb(tot, (np.arange(3),), 0.0, rng), tot.astype(np.int64))


def test_discrepancy_lifts_a_report_far_from_the_model_and_costs_one_near_it():
    sim = np.random.default_rng(3).poisson(9.0, size=(40, 1)).astype(float)
    far = [
        B.singleton_logprob(sim, np.array([32]), np.array(["exact"]), np.ones(1), cv)[0]
        for cv in (0.0, 0.5, 1.0)
    ]
    near = [
        B.singleton_logprob(sim, np.array([9]), np.array(["exact"]), np.ones(1), cv)[0]
        for cv in (0.0, 0.5, 1.0)
    ]
    assert far[0] < far[1] < far[2]
    assert near[0] > near[1] > near[2]


@pytest.mark.parametrize("cv_true", [0.0, 0.5])
def test_estimated_discrepancy_recovers_a_known_overdispersion(cv_true):
    """Known answer: reports made from model counts times factors of known cv."""
    rng = np.random.default_rng(4)
    k, runs = 300, 60
    mean = rng.uniform(5.0, 60.0, size=k)
    sim = rng.poisson(mean, size=(runs, k)).astype(float)  # the model's replicates
    truth = rng.poisson(mean, size=(1, k))  # the world's own draw of the model's count
    report = B.perturb(truth, (), cv_true, rng)[0]
    bound, p = np.array(["exact"] * k), np.ones(k)
    grid = np.linspace(0.0, 1.0, 101)
    ll = [B.singleton_logprob(sim, report, bound, p, cv).sum() for cv in grid]
    est = grid[int(np.argmax(ll))]
    assert abs(est - cv_true) <= 0.1


def test_perturb_keeps_running_totals_running():
    rng = np.random.default_rng(5)
    tot = np.cumsum(rng.poisson(8.0, size=(500, 4)), axis=1)
    y = B.perturb(tot, (np.arange(4),), 0.8, rng)
    assert (np.diff(y, axis=1) >= 0).all()
    assert y[:, -1].mean() == pytest.approx(tot[:, -1].mean(), rel=0.05)
