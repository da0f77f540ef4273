"""Publication lags: a report is used at an origin only once it was published."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim.analysis import observed as O
from sim.analysis.calibrate import baselines as B
from sim.analysis.forecast import assimilation as A
from sim.analysis.forecast import availability as AV
from sim.analysis.forecast import evaluate as E


def test_publication_date_reads_days_and_months():
    assert AV.publication_date("2020-10-22") == dt.date(2020, 10, 22)
    assert AV.publication_date("2021-04") == dt.date(2021, 4, 30)
    assert AV.publication_date("") is None and AV.publication_date("soon") is None


def test_known_at_needs_the_window_ended_and_the_report_published():
    t = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "end": pd.to_datetime(["2020-07-31", "2020-07-31", "2020-08-15", "2020-07-01"]),
            "source_date": ["2020-07-31", "2020-09-28", "2020-08-16", ""],
        }
    )
    assert list(AV.known_at(t, dt.date(2020, 7, 31))["id"]) == ["a"]
    assert list(AV.known_at(t, dt.date(2020, 8, 31))["id"]) == ["a", "c"]
    assert list(AV.known_at(t, dt.date(2020, 9, 30))["id"]) == ["a", "b", "c"]


def test_t72_is_not_known_until_it_was_published():
    """T72: window 2019-10-01..2020-07-31, published 2020-09-28."""
    t = O.load_tallies()
    row = t[t["id"] == "T72"].iloc[0]
    assert row["end"] == pd.Timestamp("2020-07-31") and row["source_date"] == "2020-09-28"
    for o, known in ((dt.date(2020, 8, 31), False), (dt.date(2020, 9, 30), True)):
        assert ("T72" in set(AV.known_at(t, o)["id"])) is known


def test_a_fit_is_used_only_once_its_tallies_were_published():
    post = pd.DataFrame({"x": [1.0]})
    fits = [
        E.Fit("early", dt.date(2020, 6, 29), post, dt.date(2020, 6, 29)),
        E.Fit("late", dt.date(2020, 9, 30), post, dt.date(2020, 10, 22)),
    ]
    assert E.fit_for(fits, dt.date(2020, 9, 30)).label == "early"
    assert E.fit_for(fits, dt.date(2020, 10, 31)).label == "late"
    committed = {f.label.rsplit("/", 1)[-1]: f for f in E.load_fits()}
    # the 2020-09-30 refit fitted T14 (window to 2020-09-30, published 2020-10-22)
    assert committed["2020-09-30"].known == dt.date(2020, 10, 22)


@pytest.fixture
def recorded(monkeypatch):
    """Run evaluate_origin with a stub particle filter; record what it and the baselines saw."""
    seen = {"reports": [], "train": []}

    def fake_filter(scenario, windows, reports, runs, *args, **kwargs):
        seen["reports"].append(set(reports["id"]))
        ids = tuple(windows["id"])
        return A.Filtered(
            np.ones((runs, len(ids)), np.int64),
            ids,
            np.full(runs, 1.0 / runs),
            np.full(runs, -1),
            (),
            0,
            runs,
            1,
        )

    real_tally_set = B.tally_set

    def spy_tally_set(tallies, day0, factor):
        seen["train"].append(set(tallies["id"]))
        return real_tally_set(tallies, day0, factor)

    monkeypatch.setattr(A, "particle_filter", fake_filter)
    monkeypatch.setattr(B, "tally_set", spy_tally_set)
    return seen


def test_evaluation_neither_assimilates_nor_fits_a_report_published_after_the_origin(recorded):
    from sim.api import load_scenario
    from tests.conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "historical.yaml").scenario
    fit, all_t = E.fitted_tallies(sc)
    st = E.Settings(runs=4, draws=0, paths=20)
    days = E.dated_attack_days(sc.start)
    before = E.evaluate_origin(sc, dt.date(2020, 8, 31), st, fit, all_t, days)
    assert before, "no targets at 2020-08-31"
    # T72's window ended 2020-07-31, before the origin, but it was published on 2020-09-28
    assert all("T72" not in r for r in recorded["reports"])
    assert "T72" not in recorded["train"][0] and "T07" in recorded["train"][0]
    recorded["reports"].clear()
    recorded["train"].clear()
    E.evaluate_origin(sc, dt.date(2020, 9, 30), st, fit, all_t, days)
    assert "T72" in recorded["reports"][0] and "T72" in recorded["train"][0]
