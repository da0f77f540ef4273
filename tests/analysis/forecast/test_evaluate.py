"""Rolling-origin evaluation on a tiny budget: targets, no look-ahead, score table, scoreboard."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from sim.analysis.forecast import evaluate as E
from sim.report import scoreboard as SB


@pytest.fixture(scope="module")
def scenario():
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    return load_scenario(SCENARIOS / "historical.yaml").scenario


def test_origins_are_month_ends_inside_the_horizon(scenario):
    o = E.origins(scenario)
    assert o[0] == dt.date(2020, 1, 31)
    assert all(E.month_end(x) == x for x in o)
    assert E.month_end(o[-1], 1) <= scenario.end < E.month_end(o[-1], 2)


def test_targets_end_in_the_month_h_steps_ahead(scenario):
    fit, _ = E.fitted_tallies(scenario)
    t1 = E.targets(fit, dt.date(2020, 7, 31), 1)
    assert set(t1["id"]) == {"T10"}
    t3 = E.targets(fit, dt.date(2020, 7, 31), 3)
    assert (t3["end"] > pd.Timestamp("2020-09-30")).all()
    assert (t3["end"] <= pd.Timestamp("2020-10-31")).all()


def test_fit_for_takes_the_latest_posterior_fitted_on_data_before_the_origin():
    post = pd.DataFrame({"x": [1.0]})
    fits = [
        E.Fit("a", dt.date(2019, 12, 31), post),
        E.Fit("b", dt.date(2020, 6, 30), post),
        E.Fit("c", dt.date(2021, 7, 6), post),
    ]
    assert E.fit_for(fits, dt.date(2019, 11, 30)) is None
    assert E.fit_for(fits, dt.date(2020, 6, 30)).label == "b"
    assert E.fit_for(fits, dt.date(2021, 6, 30)).label == "b"
    assert E.fit_for(fits, dt.date(2021, 7, 31)).label == "c"


def test_committed_fits_end_before_the_origins_that_use_them():
    fits = E.load_fits()
    assert fits, "no posterior found"
    for f in fits:
        assert f.data_end < dt.date(2021, 12, 31) and "weight" in f.posterior
        if "posteriors/" in f.label:  # a refit never used data after its --data-until date
            assert f.data_end <= dt.date.fromisoformat(f.label.rsplit("/", 1)[1])
    main = [f for f in fits if f.label == "calibration"]
    assert main and main[0].data_end == dt.date(2021, 7, 6)


def test_tiny_evaluation_scores_every_method_and_writes_a_scoreboard(scenario, tmp_path):
    from sim.analysis.calibrate import parameters as P
    from tests.conftest import SCENARIOS

    base = P.base_scenario(SCENARIOS / "historical.yaml")
    st = E.Settings(
        runs=30, draws=3, paths=100, origins=(dt.date(2020, 7, 31),), quick=True, timeline=True
    )
    fits = [
        E.Fit(
            "test",
            dt.date(2020, 6, 30),
            pd.read_parquet(E.REPO / "calibration" / "posterior.parquet"),
        )
    ]
    scores = E.evaluate([(scenario, base)], st, fits=fits)
    assert (scores["parameters"] == "test").all()
    methods = set(scores["method"])
    assert {
        "model",
        "model_noassim",
        "model_isw",
        "model_inforce",  # the pressure campaign of 2020-07-24 is in force on 2020-07-31
        "model_timeline",
        "persistence",
        "climatology",
        "nb_ingarch",
        "hawkes_dated",
        "ensemble",
    } <= methods
    # both kinds of target, every method scored on each
    assert set(scores["target_kind"]) == {"tally", "monthly"}
    mon = scores[scores["target_kind"] == "monthly"]
    assert "M:talos:2020-08" in set(mon["target"])
    assert mon.groupby("target")["method"].nunique().min() >= 9
    exact = scores[scores["bound"] != "lower"]
    assert np.isfinite(exact[["log_score", "crps", "wis", "pit"]].to_numpy()).all()
    lower = scores[scores["bound"] == "lower"]
    assert lower["crps"].isna().all() and np.isfinite(lower["log_score"]).all()
    # assimilation weights: the unweighted run has full ESS, the weighted one less
    assert np.allclose(scores.loc[scores["method"] == "model_noassim", "ess"], 30)
    assert (scores.loc[scores["method"] == "model_isw", "ess"] < 30).all()
    model = scores[scores["method"] == "model"]
    assert (model["resamples"] >= 1).all() and (model["stage_ess_min"] < 30).all()
    paired = E.paired(scores)
    ref = paired[paired["method"] == "model"].iloc[0]
    assert ref["d_crps"] == 0.0
    assert set(paired["target_kind"]) == {"tally", "monthly"}
    SB.write_scoreboard(
        scores,
        paired,
        tmp_path,
        {"command": "test", "wall_seconds": 1.0, "quick": True, "runs": 30, "draws": 3},
    )
    assert (tmp_path / "figures" / "pit_h1.png").stat().st_size > 0
    st_json = json.loads((tmp_path / "standing.json").read_text())
    assert st_json["quick"] is True and "1" in st_json["horizons"]
    line = SB.standing_line(tmp_path / "standing.json")
    assert "QUICK" in line and "persistence" in line and ("1 mo" in line)
    verdicts = {v["verdict"] for v in st_json["horizons"]["1"]["vs"].values()}
    assert verdicts <= {"beats", "ties", "loses to"}
    summary = (tmp_path / "summary.md").read_text()
    assert "| model |" in summary and "mean PIT" in summary and "Particle filter" in summary
    assert "## Monthly counts per counter, horizon 1" in summary
    assert (tmp_path / "figures" / "pit_monthly_h1.png").stat().st_size > 0


def test_targets_outside_every_scenario_are_listed(scenario):
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    episode = load_scenario(SCENARIOS / "episode_2023_2024.yaml").scenario
    u = set(E.uncovered_targets([scenario, episode])["id"])
    # 2022-01..2023-09 lies between the scenarios; 2023-10 is forecast from 2023-09-30
    assert {"T26", "T58", "M:musings_iraq:2022-12"} <= u
    assert "T10" not in u and "M:talos:2020-08" not in u
    assert "M:dod_pentagon:2023-10" not in u and not {"T44", "T45", "T46", "T47"} & u


def test_the_day_before_a_scenario_start_is_an_origin(scenario):
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    episode = load_scenario(SCENARIOS / "episode_2023_2024.yaml").scenario
    assert episode.start == dt.date(2023, 10, 1)
    assert E.origins(episode)[:2] == (dt.date(2023, 9, 30), dt.date(2023, 10, 31))
    assert E.origins(scenario)[0] == dt.date(2020, 1, 31)  # not before 2020-01


def test_pre_start_origin_scores_the_model_without_injects_and_no_baseline():
    from sim.analysis.calibrate import parameters as P
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    path = SCENARIOS / "episode_2023_2024.yaml"
    cal = load_scenario(path).scenario
    st = E.Settings(runs=20, draws=2, paths=50, origins=(dt.date(2023, 9, 30),), quick=True)
    fits = [
        E.Fit(
            "test",
            dt.date(2021, 7, 6),
            pd.read_parquet(E.REPO / "calibration" / "posterior.parquet"),
        )
    ]
    scores = E.evaluate([(cal, P.base_scenario(path))], st, fits=fits)
    assert set(scores["method"]) == {"model", "model_noassim", "model_isw", "model_timeline"}
    assert {"T44", "M:dod_pentagon:2023-10"} <= set(scores["target"])
    model = scores[scores["method"] == "model"]
    assert (model["resamples"] == 0).all() and np.allclose(model["ess"], 20)


def test_standing_line_without_scoreboard(tmp_path):
    assert "no scoreboard" in SB.standing_line(tmp_path / "missing.json")


def test_standing_line_names_baselines_in_words(tmp_path):
    """The brief's line says "Hawkes", "NB-INGARCH", not the method ids."""
    vs = {
        "nb_ingarch": {"verdict": "beats"},
        "hawkes_dated": {"verdict": "ties"},
    }
    (tmp_path / "standing.json").write_text(
        json.dumps({"quick": False, "horizons": {"3": {"n": 5, "vs": vs}}})
    )
    line = SB.standing_line(tmp_path / "standing.json")
    assert "beats NB-INGARCH, ties Hawkes" in line
    assert "nb_ingarch" not in line and "hawkes_dated" not in line


def _evaluated_scenarios():
    from sim.api import load_scenario

    return [load_scenario(E.REPO / "scenarios" / n).scenario for n in E.SCENARIOS]


def test_every_month_end_from_2020_01_to_2024_11_is_an_origin_of_exactly_one_scenario():
    got = E.origin_scenarios(_evaluated_scenarios())
    months = pd.period_range("2020-01", "2024-11", freq="M")
    assert list(got) == [p.end_time.date() for p in months]
    assert all(len(names) == 1 for names in got.values()), {
        o: n for o, n in got.items() if len(n) != 1
    }
    # historical.yaml's last day is the interlude's pre-start origin, not historical's
    assert got[dt.date(2021, 11, 30)] == ["historical"]
    assert got[dt.date(2021, 12, 31)] == ["interlude_2022_2023"]
    assert got[dt.date(2023, 8, 31)] == ["interlude_2022_2023"]
    assert got[dt.date(2023, 9, 30)] == ["episode_2023_2024"]


def test_the_interlude_reaches_the_2022_23_targets():
    u = set(E.uncovered_targets(_evaluated_scenarios())["id"])
    assert not {"T26", "M:events_documented:2022-01", "M:musings_iraq:2022-12"} & u
    # T58's window (2022-06-01..2023-10-16) straddles the interlude and the episode
    assert "T58" in u


def test_the_interlude_forces_only_sourced_injects_and_no_attack():
    from sim.analysis import observed as O

    sc = _evaluated_scenarios()[1]
    assert (sc.start, sc.end) == (dt.date(2022, 1, 1), dt.date(2023, 9, 30))
    ev = O.load_observed_events()
    dates = set(pd.to_datetime(ev["date"]).dt.date)
    for inj in sc.injects:
        assert inj.kind != "attack" and inj.source and inj.date in dates


def test_interlude_origins_use_nothing_dated_after_them():
    """At each interlude origin: known reports, injects and the posterior all predate it."""
    from sim.analysis.forecast import assimilation as A
    from sim.analysis.forecast import availability as AV

    sc = _evaluated_scenarios()[1]
    fit, _ = E.fitted_tallies(sc)
    assert "T26" in set(fit["id"])
    fits = E.load_fits()
    for o in E.origins(sc):
        known = AV.known_at(fit, o)
        assert (known["end"] <= pd.Timestamp(o)).all()
        assert (AV.published(known).dropna() <= pd.Timestamp(o)).all()
        assert all(i.date <= o for i in A.without_future_injects(sc, o).injects)
        post = E.fit_for(fits, o)
        assert post is not None and post.known <= o and post.label == "calibration"
    # T26 (3-5 Jan 2022) is not known at the pre-start origin; the Sudani inject is dropped
    assert len(AV.known_at(fit, dt.date(2021, 12, 31))) == 0
    assert A.without_future_injects(sc, dt.date(2022, 9, 30)).injects == ()
