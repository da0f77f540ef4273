"""Baselines recover known parameters and forecast from pre-origin information only."""

import numpy as np

from sim.analysis.calibrate import baselines as B
from sim.analysis.forecast import baselines as FB


def test_hawkes_mle_recovers_known_parameters():
    t = B.simulate_hawkes(0.2, 0.6, 0.3, 6000.0, seed=3)
    mu, n, beta = B.fit_hawkes(t, 6000.0)
    assert abs(n - 0.6) < 0.12
    assert abs(mu - 0.2) < 0.06
    assert 0.15 < beta < 0.6


def test_ingarch_mle_recovers_known_parameters():
    rng = np.random.default_rng(0)
    y = FB.simulate_ingarch(2.0, 0.3, 0.5, 5.0, 10.0, 10.0, 3000, 1, rng)[0]
    omega, alpha, beta, r = FB.fit_ingarch(y)
    assert abs(alpha - 0.3) < 0.08 and abs(beta - 0.5) < 0.12
    assert abs(omega / (1 - alpha - beta) - 10.0) < 1.5
    assert 3.0 < r < 8.0


def _ctx(recon):
    n = len(recon)
    return B.Context(n, np.zeros(n + 200), np.zeros(n + 200), np.asarray(recon, dtype=float))


def _train(n):
    return B.TallySet(
        ("A",),
        np.array([0]),
        np.array([n - 1]),
        np.array([n // 2]),
        np.array(["exact"]),
        np.array([1.0]),
    )


def test_tuned_persistence_uses_only_pre_origin_data_and_picks_short_window_after_a_jump():
    recon = np.r_[np.full(300, 0.1), np.full(60, 2.0)]
    b = FB.TunedPersistence()
    b.fit(_train(360), _ctx(recon))
    assert b.window <= 60
    assert abs(b.rate - 2.0) < 1e-9


def test_ensemble_pmf_is_the_mixture_of_members():
    recon = np.full(400, 0.5)
    ctx = _ctx(recon)
    test = B.TallySet(
        ("X",),
        np.array([400]),
        np.array([429]),
        np.array([15]),
        np.array(["exact"]),
        np.array([1.0]),
    )
    members = [FB.TunedPersistence(), B.Climatology()]
    ens = FB.Ensemble(members)
    ens.fit(_train(400), ctx)
    p = FB.forecast_pmf(ens, test, ctx, 200)
    q = np.mean([FB.forecast_pmf(m, test, ctx, 200) for m in members], axis=0)
    np.testing.assert_allclose(p, q)
    assert abs(p.sum() - 1.0) < 1e-9


def test_dated_hawkes_scales_by_reporting_ratio():
    days = np.arange(0, 400, 10.0)  # 40 dated attacks
    recon = np.full(400, 0.4)  # 160 reconstructed
    b = FB.DatedHawkes(days, paths=500, seed=1)
    b.fit(_train(400), _ctx(recon))
    assert abs(b.ratio - 4.0) < 1e-9
    m, v = b.future_moments(np.array([400]), np.array([429]), _ctx(recon))
    assert m[0] > 0 and v[0] > 0
