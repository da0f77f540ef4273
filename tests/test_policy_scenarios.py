"""The policy scenarios: valid, one intervention date, fair baselines, shared history."""

import datetime as dt

import numpy as np
import pyarrow.compute as pc
import pytest

from sim import vocab as V
from sim.model import layout as L
from sim.model.world import J_DAY, J_DAYS, J_KIND, compile_world
from sim.runner import run_in_memory
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

POLICIES = (
    "status_quo",
    "strong_us_retaliation",
    "truce",
    "truce_with_iranian_restraint",
    "us_withdrawal",
    "unified_iranian_command",
)
START = dt.date(2020, 6, 1)


@pytest.fixture(scope="module")
def loaded():
    return {n: load_scenario(SCENARIOS / f"{n}.yaml") for n in ("historical", *POLICIES)}


def test_every_policy_branches_from_the_historical_baseline_on_one_date(loaded):
    hist = loaded["historical"].scenario
    for name in POLICIES:
        sc = loaded[name].scenario
        assert sc.name == name
        assert sc.policy is not None and sc.policy.start == START
        assert sc.outcome_from == START
        assert (sc.start, sc.end, sc.seed) == (hist.start, hist.end, hist.seed)
        assert sc.factions == hist.factions and sc.iran.agencies == hist.iran.agencies
        # parameters before the policy date are the historical ones
        np.testing.assert_array_equal(compile_world(sc).g_before, compile_world(hist).g_before)


def test_injects_before_the_start_are_the_historical_ones(loaded):
    hist = compile_world(loaded["historical"].scenario)
    for name in POLICIES:
        w = compile_world(loaded[name].scenario)
        assert w.switch_day == (START - w.start).days
        before = w.injects[w.injects[:, J_DAY] < w.switch_day]
        np.testing.assert_array_equal(before, hist.injects[hist.injects[:, J_DAY] < w.switch_day])


def test_after_the_start_strikes_raids_and_documented_truces_follow_the_rules(loaded):
    kept = {}
    for name in POLICIES:
        w = compile_world(loaded[name].scenario)
        after = w.injects[w.injects[:, J_DAY] >= w.switch_day]
        kinds = [V.INJECT_KINDS[int(k)] for k in after[:, J_KIND]]
        assert "us_strike" not in kinds and "arrest" not in kinds
        rest = after[after[:, J_KIND] != V.I_TRUCE]
        kept[name] = rest
        truces = after[after[:, J_KIND] == V.I_TRUCE]
        if name in ("truce", "truce_with_iranian_restraint"):
            # one policy truce from the start to the end of the horizon
            assert len(truces) == 1 and truces[0, J_DAY] == w.switch_day
            assert truces[0, J_DAY] + truces[0, J_DAYS] == w.n_days
        else:
            assert len(truces) == 0
    # threats, negotiation rounds, the election and the pressure campaigns before the Strategic
    # Dialogue rounds are the same in every branch
    for name in POLICIES[1:]:
        np.testing.assert_array_equal(kept[name], kept["status_quo"])
    assert len(kept["status_quo"]) == 8


def test_each_policy_changes_only_its_levers(loaded):
    g = {n: compile_world(loaded[n].scenario).g_after for n in POLICIES}
    base = g["status_quo"]
    changed = {n: {L.G_NAMES[i] for i in np.flatnonzero(g[n] != base)} for n in POLICIES}
    assert changed["status_quo"] == set()
    assert changed["strong_us_retaliation"] == {
        "us_doctrine",
        "us_strike_rate",
        "us_cooldown_days",
        "us_red_line_strike",
    } | ({"us_red_line"} if base[L.G_US_RED_LINE] != 1 else set())
    assert g["strong_us_retaliation"][L.G_US_DOCTRINE] == V.DOC_LEADERSHIP
    assert changed["truce"] == set()  # the truce is an inject; Iran's restraint is declared apart
    assert changed["truce_with_iranian_restraint"] == {
        "ir_truce_calm",
        "ir_appetite",
        "ir_campaign_appetite",
    }
    assert changed["us_withdrawal"] == {"us_posture"} and g["us_withdrawal"][L.G_US_POSTURE] == 0
    assert changed["unified_iranian_command"] == {"ir_unified"}


def test_histories_are_identical_before_the_intervention_date(loaded):
    logs = {}
    for name in ("historical", *POLICIES):
        events, _ = run_in_memory(loaded[name], runs=12, seed=7)
        logs[name] = events
    switch = compile_world(loaded["status_quo"].scenario).switch_day

    def part(tab, before):
        mask = pc.less(tab["day"], switch) if before else pc.greater_equal(tab["day"], switch)
        t = tab.filter(mask)
        return {
            c: t[c].to_pylist()
            for c in (
                "run",
                "day",
                "actor",
                "kind",
                "weapon",
                "target",
                "claimed_as",
                "killed",
                "subject",
                "detail",
            )
        }

    ref = part(logs["historical"], True)
    assert len(ref["run"]) > 100
    for name in POLICIES:
        assert part(logs[name], True) == ref, name
    # and they do branch afterwards (the comparison above could fail)
    after = {n: part(logs[n], False) for n in POLICIES}
    for name in POLICIES[1:]:
        assert after[name] != after["status_quo"], name
