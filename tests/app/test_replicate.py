"""The One replicate tab's model: Mesa engine + DataCollector series from the event records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.app.replicate import (
    MODEL_SERIES,
    ReplicateModel,
    agency_directives,
    event_feed,
    event_log,
    explain_so_far,
    faction_grievance,
    model_series,
)
from sim.engines.mesa.model import EscalationModel
from sim.model.world import compile_world
from sim.vocab import STATE_TARGET_NAMES, US_TARGET_NAMES
from tests.conftest import build


@pytest.fixture(scope="module")
def world():
    return compile_world(build())


@pytest.fixture(scope="module")
def finished(world):
    model = ReplicateModel(world, 2)
    while model.running:
        model.step()
    return model


def test_same_events_as_the_mesa_engine(world, finished):
    assert finished.day == world.n_days - 1
    assert np.array_equal(finished.events, EscalationModel(world, 2).run())
    finished.step()  # past the horizon: nothing happens
    assert finished.day == world.n_days - 1


def test_series_count_the_event_log(world, finished):
    ev = event_log(finished)
    s = model_series(finished)
    assert list(s.columns) == list(MODEL_SERIES)
    assert len(s) == world.n_days and s.index[0] == pd.Timestamp(world.start)
    attacks = ev[ev["kind"] == "attack"]
    assert s["attacks_us"].sum() == attacks["target"].isin(US_TARGET_NAMES).sum() > 0
    assert s["attacks_state"].sum() == attacks["target"].isin(STATE_TARGET_NAMES).sum()
    assert s["us_strikes"].sum() == (ev["kind"] == "us_strike").sum() > 0
    assert s["arrests"].sum() == (ev["kind"] == "arrest").sum() > 0
    by_day = attacks[attacks["target"].isin(US_TARGET_NAMES)].groupby("date").size()
    assert (s["attacks_us"][by_day.index] == by_day).all()
    # the forced truce of SMALL (30 days from 2020-06-01) shows as truce_active
    assert s.loc["2020-06-01":"2020-06-30", "truce_active"].eq(1).all()
    assert set(np.unique(s["directives_escalate"])) <= {0, 1, 2, 3, 4}


def test_directives_per_agency_follow_the_directive_events(finished):
    ev = event_log(finished)
    d = agency_directives(ev, finished)
    assert set(np.unique(d.to_numpy())) <= {0.0, 1.0}
    last = ev[(ev["kind"] == "directive") & (ev["actor"] == "IRGC-QF")].iloc[-1]
    assert d["IRGC-QF"].iloc[-1] == (1.0 if last["detail"] == "escalate" else 0.0)
    assert d.loc[last["date"], "IRGC-QF"] == d["IRGC-QF"].iloc[-1]


def test_grievance_per_faction_per_day(world, finished):
    g = faction_grievance(finished)
    assert list(g.columns) == ["A", "B"] and len(g) == world.n_days
    assert (g.to_numpy() >= 0).all() and g.to_numpy().max() > 0
    last = finished.militias[0]
    assert g["A"].iloc[-1] == pytest.approx(last.grievance_us + last.grievance_state)


def test_before_the_first_step_everything_is_empty(world):
    m = ReplicateModel(world, 0)
    assert len(model_series(m)) == 0 and faction_grievance(m).empty
    assert event_feed(event_log(m)) == [] and explain_so_far(m, event_log(m)) is None


def test_feed_reads_like_explain_newest_first(finished):
    lines = event_feed(event_log(finished), last=15)
    assert 0 < len(lines) <= 15
    dates = [pd.Timestamp(d) for d, _, _ in lines]
    assert dates == sorted(dates, reverse=True)
    assert all(len(d.split()) == 3 for d, _, _ in lines)  # "14 Jun 2020"
    assert any("attack:" in text for _, _, text in event_feed(event_log(finished), last=500))


def test_explanation_of_the_replicate_so_far(finished):
    ex = explain_so_far(finished, event_log(finished))
    assert ex is not None and ex.run == 2
    assert ex.escalation is not None and ex.escalation.attacks_us > 0
