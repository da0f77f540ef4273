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
    w = A.normalise(
        A.log_weights(sim, _reports([10], ["exact"]), obs=_obs({"detection.c0": [1.0]}, [0.1]))
    )
    assert np.argmax(w) == 1 and w[1] > 0.8
    # with the default (prior median) detection rate a larger latent count is less penalised
    w = A.normalise(A.log_weights(sim, _reports([10], ["exact"])))
    assert np.argmax(w) == 1 and w[2] > 0.1


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


def _obs(rates: dict[str, list[float]], cv: list[float]) -> A.Observation:
    from sim.analysis.calibrate import observation as OB

    return A.Observation(pd.DataFrame({**rates, OB.DISCREPANCY: cv}))


@pytest.mark.parametrize("bound", ["exact", "approx", "lower"])
def test_log_weight_of_a_report_equals_the_calibration_likelihood_term(bound):
    # one trajectory = a one-replicate ensemble of the calibration's observation model
    from sim.analysis.calibrate import observation as OB

    rep = _reports([14], [bound])
    obs = _obs({"detection.c0": [0.6, 0.9]}, [0.45, 0.2])
    x = np.array([[0], [3], [14], [25], [60], [14]])
    points = np.array([0, 0, 0, 0, 1, 1])
    lw = A.log_weights(x, rep, obs=obs, points=points)
    model = OB.ObservationModel.build(rep)
    for i, j in enumerate(points):
        det = np.array([obs.values["detection.c0"][j]])
        single, chains = model.terms(x[i : i + 1], det, float(obs.values[OB.DISCREPANCY][j]))
        assert len(chains) == 0
        assert lw[i] == pytest.approx(single[0], rel=1e-12, abs=1e-12)
    # detection and discrepancy matter (the same count, two parameter points)
    assert lw[2] != lw[5]


def test_log_weight_of_a_nested_chain_equals_the_calibration_chain_term():
    from sim.analysis.calibrate import observation as OB

    rep = _reports([10, 18, 30], ["exact", "approx", "exact"], ids=["A", "B", "C"])
    rep["nested_in"] = ["", "A", "B"]
    rep["counter_id"] = "k"
    obs = _obs({"detection.k": [0.7, 1.0]}, [0.3, 0.0])
    rng = np.random.default_rng(3)
    inc = rng.integers(0, 20, size=(8, 3))
    x = np.cumsum(inc, axis=1)
    points = np.array([0, 1] * 4)
    lw = A.log_weights(x, rep, obs=obs, points=points)
    model = OB.ObservationModel.build(rep)
    assert len(model.blocks.chains) == 1
    for i, j in enumerate(points):
        p = float(obs.values["detection.k"][j])
        cv = float(obs.values[OB.DISCREPANCY][j])
        ref = OB.chain_loglik(x[i : i + 1], rep["count"].to_numpy(), rep["bound"].to_numpy(), p, cv)
        single, chains = model.terms(x[i : i + 1], np.array([p]), cv)
        assert lw[i] == pytest.approx(ref, rel=1e-10) == pytest.approx(chains.sum() + single.sum())


def test_observation_defaults_fitted_medians_then_detection_prior():
    from sim.analysis.calibrate import parameters as P

    obs = A.Observation.fitted()
    assert 0.0 < obs.cv()[0] < 2.0
    assert obs.rate("afp", "exact")[0] == pytest.approx(A._fitted_medians()["detection.afp"])
    prior = P.detection_parameters(["nobody"])[0].prior.ppf(np.array([0.5]))[0]
    assert obs.rate("nobody", "approx")[0] == pytest.approx(prior)
    assert obs.rate("afp", "lower")[0] == 1.0


def test_forecast_pmf_thins_by_detection_and_widens_by_discrepancy():
    counts = np.array([[40]])
    w = np.array([1.0])
    plain = A.forecast_pmf(counts, w, 200)
    thin = A.forecast_pmf(counts, w, 200, np.array([[0.5]]), np.array([0.0]))
    wide = A.forecast_pmf(counts, w, 200, np.array([[1.0]]), np.array([0.5]))
    k = np.arange(200)
    assert thin[0] @ k == pytest.approx(20.0, abs=0.01)
    assert wide[0] @ k == pytest.approx(plain[0] @ k, abs=0.01)
    assert wide[0] @ (k - 40) ** 2 > 5 * (plain[0] @ (k - 40) ** 2)


def test_an_inject_in_force_at_the_origin_is_cut_there_unless_kept():
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "historical.yaml").scenario
    o = dt.date(2020, 9, 30)
    running = A.running_injects(sc, o)
    assert {(i.kind, i.date) for i in running} == {
        ("pressure_campaign", dt.date(2020, 7, 24)),
        ("threat", dt.date(2020, 9, 20)),
    }
    cut = A.without_future_injects(sc, o)
    kept = A.without_future_injects(sc, o, cut=False)
    assert max(i.date for i in cut.injects) <= o and len(cut.injects) == len(kept.injects)
    camp = {i.date: i.days for i in cut.injects if i.kind == "pressure_campaign"}
    assert camp[dt.date(2020, 7, 24)] == 69  # 24 Jul .. 30 Sep
    assert {i.date: i.days for i in kept.injects}[dt.date(2020, 7, 24)] == 78
    assert camp[dt.date(2020, 6, 10)] == 14  # ended before the origin: untouched
    assert not A.running_injects(cut, o)
