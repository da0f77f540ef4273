import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis import observed as O
from sim.analysis.calibrate import observation as B

START, END = dt.date(2019, 10, 1), dt.date(2021, 12, 31)


@pytest.fixture(scope="module")
def tallies():
    return O.load_tallies()


def test_select_fits_only_iraq_rows_inside_the_horizon(tallies):
    t = B.select(tallies, START, END)
    fit = t[t["status"] == "fit"]
    assert len(fit) > 20
    assert (fit["use"] == "fit").all()
    assert not fit["geography"].str.contains("Syria").any()
    assert (fit["start"].dt.date >= START).all() and (fit["end"].dt.date <= END).all()
    status = t.set_index("id")["status"]
    assert status["T15"] == "use=outside_horizon" and status["T44"] == "outside_horizon"
    assert t.loc[t["use"] == "syria_included", "status"].str.startswith("use=").all()


@pytest.mark.parametrize("until", [dt.date(2020, 6, 30), dt.date(2020, 12, 31)])
def test_data_until_filters_by_window_end(tallies, until):
    full = B.select(tallies, START, END)
    t = B.select(tallies, START, END, until)
    fit, held = t[t["status"] == "fit"], t[t["status"] == "held_out"]
    assert (fit["end"].dt.date <= until).all() and (held["end"].dt.date > until).all()
    assert len(held) > 0
    assert set(fit["id"]) | set(held["id"]) == set(full.loc[full["status"] == "fit", "id"])


def test_chains_group_nested_totals_of_one_counter(tallies):
    t = B.select(tallies, START, END)
    fit = t[t["status"] == "fit"].reset_index(drop=True)
    b = B.blocks(fit, t)
    covered = np.concatenate([b.singletons, *b.chains])
    assert sorted(covered.tolist()) == list(range(len(fit)))  # each tally exactly once
    assert len(b.chains) >= 3
    for c in b.chains:
        rows = fit.iloc[c]
        assert rows["counter_id"].nunique() == 1 and rows["start"].nunique() == 1
        assert rows["end"].is_monotonic_increasing and (rows["bound"] != "lower").all()
    assert "T20 < T21 < T22" in b.describe(fit["id"].to_numpy())


def test_increments_sum_back_to_the_totals():
    x = np.random.default_rng(0).poisson(5, size=(7, 4)).cumsum(axis=1)
    d = B.increments(x)
    np.testing.assert_array_equal(d.cumsum(axis=1), x)
    np.testing.assert_array_equal(B.increment_matrix(4) @ x[0], d[0])
    assert np.linalg.det(B.increment_matrix(4)) == pytest.approx(1.0)


def test_gaussian_density_agrees_with_scipy_and_is_invariant_to_increments():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + np.eye(3)
    mu, x = rng.normal(size=3), rng.normal(size=3)
    ref = stats.multivariate_normal(mu, cov).logpdf(x)
    assert B.gaussian_logpdf(x, mu, cov) == pytest.approx(ref)
    A = B.increment_matrix(3)
    assert B.gaussian_logpdf(A @ x, A @ mu, A @ cov @ A.T) == pytest.approx(ref)
    assert B.gaussian_logpdf(x, mu, -cov) == -np.inf


def test_detection_one_reduces_to_the_count_likelihood():
    sim = np.random.default_rng(2).negative_binomial(3, 0.2, size=(200, 3))
    count, bound = np.array([10, 12, 5]), np.array(["exact", "approx", "lower"])
    got = B.singleton_logprob(sim, count, bound, np.ones(3))
    m, v = sim.mean(axis=0), sim.var(axis=0, ddof=1)
    np.testing.assert_allclose(got, O.count_logprob(m, v, count, bound))


def test_thinned_poisson_is_poisson_with_the_thinned_rate():
    m, v = B.thin_moments(np.array([20.0]), np.array([20.0]), 0.3)
    assert m[0] == pytest.approx(6.0) and v[0] == pytest.approx(6.0)
    # a simulated Poisson(20) thinned at 0.3 scores an exact count like Poisson(6)
    sim = stats.poisson(20).ppf((np.arange(4000) + 0.5) / 4000)[:, None]
    lp = B.singleton_logprob(sim, np.array([6]), np.array(["exact"]), np.array([0.3]))
    assert lp[0] == pytest.approx(stats.poisson(6).logpmf(6), abs=0.02)


def test_chain_loglik_counts_shared_events_once():
    rng = np.random.default_rng(3)
    first = rng.poisson(20, size=4000)
    second = first + rng.poisson(1, size=4000)  # a running total one small step later
    sim = np.column_stack([first, second])
    joint = B.chain_loglik(sim, np.array([20, 21]), np.array(["exact", "exact"]), 1.0)
    expect = stats.norm(20, np.sqrt(20 + B.DISCRETE_VAR)).logpdf(20) + stats.norm(
        1, np.sqrt(1 + B.DISCRETE_VAR)
    ).logpdf(1)
    assert joint == pytest.approx(expect, abs=0.1)
    indep = B.singleton_logprob(sim, np.array([20, 21]), np.array(["exact"] * 2), np.ones(2))
    assert indep.sum() < joint - 1.0  # independent terms count the first 20 events twice


def test_chain_loglik_prefers_the_true_detection_rate():
    rng = np.random.default_rng(4)
    latent = rng.poisson(40, size=(3000, 1)) + np.zeros((1, 3), dtype=int)
    latent = latent + rng.poisson(10, size=(3000, 3)).cumsum(axis=1)
    obs = np.rint(0.6 * latent.mean(axis=0)).astype(int)
    bound = np.array(["exact", "approx", "exact"])
    ll = {p: B.chain_loglik(latent, obs, bound, p) for p in (0.4, 0.6, 0.8)}
    assert ll[0.6] > ll[0.4] and ll[0.6] > ll[0.8]


def test_observation_model_scores_lower_bounds_without_detection():
    t = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "count": [5, 9, 3],
            "bound": ["exact", "exact", "lower"],
            "counter_id": ["x", "x", "y"],
            "nested_in": ["", "a", ""],
            "start": pd.to_datetime(["2020-01-01"] * 3),
            "end": pd.to_datetime(["2020-01-10", "2020-01-20", "2020-01-05"]),
        }
    )
    m = B.ObservationModel.build(t)
    assert m.detection_names == ("detection.x",)
    assert m.detection_of.tolist() == [0, 0, -1]
    assert [c.tolist() for c in m.blocks.chains] == [[0, 1]]
    np.testing.assert_allclose(m.rates(np.array([0.7])), [0.7, 0.7, 1.0])
