"""Assimilation weights favour trajectories that match the reports; the pmf is a mixture."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.analysis.forecast import assimilation as A


def _reports(counts, bounds, ids=None, nested=None):
    k = len(counts)
    return pd.DataFrame(
        {
            "id": ids or [f"R{i}" for i in range(k)],
            "count": counts,
            "bound": bounds,
            "counter_id": [f"c{i}" for i in range(k)],
            "nested_in": nested or [""] * k,
            "end": pd.to_datetime(["2020-01-01"] * k),
        }
    )


def test_weights_prefer_the_trajectory_that_matches_an_exact_report():
    sim = np.array([[2], [10], [30]])
    w = A.normalise(A.log_weights(sim, _reports([10], ["exact"])))
    assert np.argmax(w) == 1 and w[1] > 0.8


def test_lower_bound_weights_only_penalise_trajectories_below_it():
    sim = np.array([[5], [40], [80]])
    w = A.normalise(A.log_weights(sim, _reports([32], ["lower"])))
    # above the bound, the kernel leaves only a mild preference for larger counts
    assert w[0] < 0.01 and w[2] >= w[1] > 0.6 * w[2]


def test_nested_chain_scored_by_increments_not_twice():
    # two running totals 10 then 12: the trajectory (10, 12) beats (12, 12) and (5, 12)
    sim = np.array([[10, 12], [12, 12], [5, 12]])
    rep = _reports([10, 12], ["exact", "exact"], ids=["A", "B"], nested=["", "A"])
    rep["counter_id"] = "same"
    w = A.normalise(A.log_weights(sim, rep))
    assert np.argmax(w) == 0


def test_no_reports_gives_uniform_weights_and_full_ess():
    w = A.normalise(A.log_weights(np.ones((8, 0)), _reports([], [])))
    assert A.ess(w) == pytest.approx(8.0)


def test_forecast_pmf_is_weighted_mixture_and_sums_to_one():
    counts = np.array([[0], [0], [20]])
    w = np.array([0.0, 0.0, 1.0])
    p = A.forecast_pmf(counts, w, 200)
    assert p.sum() == pytest.approx(1.0)
    assert np.argmax(p[0]) in range(17, 22)


def test_future_injects_are_dropped_and_condition_parsed():
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "historical.yaml").scenario
    cut = A.without_future_injects(sc, dt.date(2020, 6, 30))
    assert cut.injects and all(i.date <= dt.date(2020, 6, 30) for i in cut.injects)
    assert len(cut.injects) < len(sc.injects)
    row = A.parse_condition("attack:pm:2021-11-07")
    assert row["targets"][0] == ("pm",)
    with pytest.raises(ValueError, match="attack:TARGET"):
        A.parse_condition("strike:pm:2021-11-07")


def test_simulate_spreads_trajectories_over_posterior_draws():
    from sim.analysis.calibrate import parameters as P
    from tests.conftest import SCENARIOS

    sc = P.base_scenario(SCENARIOS / "historical.yaml")
    windows = A.month_windows(sc.start, dt.date(2020, 3, 31))
    post = pd.DataFrame({"scale.factions.base_rate": [0.3, 3.0], "weight": [0.5, 0.5]})
    ens = A.simulate(sc, windows, 40, 7, dt.date(2020, 3, 31), post, draws=4)
    assert ens.counts.shape == (40, len(windows)) and set(ens.draw) <= {0, 1}
    low = ens.counts[ens.draw == 0].sum(axis=1).mean()
    high = ens.counts[ens.draw == 1].sum(axis=1).mean()
    assert high > low  # a ten-fold base rate gives more attacks


def _small_windows(start, end):
    return A.month_windows(start, end)


def test_particle_filter_without_reports_reproduces_the_kernel_trajectories():
    from tests.conftest import build

    sc = build()
    last = dt.date(2020, 6, 30)
    win = A.month_windows(sc.start, last)
    f = A.particle_filter(sc, win, _reports([], []).iloc[:0], 20, 5, last)
    e = A.simulate(sc, win, 20, 5, last)
    assert np.array_equal(f.counts, e.counts) and f.resamples == 0
    assert np.allclose(f.weights, 1 / 20) and f.roots == 20


def test_particle_filter_resamples_towards_a_report_and_keeps_more_particles_than_isw():
    from tests.conftest import build

    sc = build()
    last = dt.date(2020, 6, 30)
    win = A.month_windows(sc.start, last)
    e = A.simulate(sc, win, 200, 5, last)
    ids = list(win["id"][:4])
    # reports: the 90th percentile of each of the first four months (unlikely all together)
    q = np.quantile(e.column(ids), 0.9, axis=0).round().astype(int)
    rep = _reports(list(q), ["exact"] * 4, ids=ids)
    rep["end"] = list(win["end"][:4])
    f = A.particle_filter(sc, win, rep, 200, 5, last)
    isw = A.normalise(A.log_weights(e.column(ids), rep))
    assert f.resamples >= 1 and min(f.stage_ess) < 200
    assert f.ess > A.ess(isw)
    # the filtered particles match the reports better than the unfiltered ones
    err_f = np.abs(f.column(ids) - q).sum(axis=1) @ f.weights
    err_0 = np.abs(e.column(ids) - q).sum(axis=1).mean()
    assert err_f < err_0
    # reports are assimilated on their end day: months after the last report are not fixed
    assert len(np.unique(f.column([win["id"].iloc[5]]))) > 1


def test_systematic_resampling_keeps_expected_copies():
    rng = np.random.default_rng(0)
    w = np.array([0.5, 0.25, 0.25, 0.0])
    anc = A.systematic_resample(w, rng)
    assert np.bincount(anc, minlength=4).tolist() == [2, 1, 1, 0]
