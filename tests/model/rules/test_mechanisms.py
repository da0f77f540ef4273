"""The mechanisms of issue 10/16 (dominance, event-triggered directives, control timeline,
restraint, the post-election turn, the PM's own evidence, front shift, crackdowns that work).

Each rule is checked three ways: at its neutral parameter value it returns exactly what the
rule it extends returns (so wiring it changes nothing until the parameter moves); a known answer
or analytic limit; and its direction (monotone where the source says so).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import vocab as V
from sim.model import rules as R

SET = settings(max_examples=120, deadline=None)
prob = st.floats(0.0, 1.0)
unit = st.floats(0.0, 0.999999)
pos = st.floats(0.0, 30.0)
logodds = st.floats(-10.0, 10.0)
directive = st.sampled_from([-1.0, 0.0, 1.0])
agencies4 = st.lists(prob, min_size=4, max_size=4)
directives4 = st.lists(directive, min_size=4, max_size=4)


# --- dominance of the loudest line (S1) ------------------------------------------------------


@SET
@given(agencies4, agencies4, directives4, st.lists(st.floats(0.0, 10.0), min_size=4, max_size=4))
def test_dominant_signal_at_zero_dominance_is_directive_signal(chi, m, d, voice):
    chi, m, d, voice = (np.array(x) for x in (chi, m, d, voice))
    assert R.dominant_signal(chi, m, d, voice, 0.0) == R.directive_signal(chi, m, d)


def test_dominant_signal_known_answer_tehran_wins_over_beirut():
    # S1, 28 Feb 2021: Beit Rahbari (escalate) and MOIS (calm) hold equal control over a faction;
    # averaged, the lines cancel; with the Supreme Leader's line louder and dominant, it wins.
    chi = np.array([0.5, 0.0, 0.5, 0.0])
    m = np.ones(4)
    d = np.array([-1.0, 0.0, 1.0, 0.0])
    voice = np.array([1.0, 1.0, 2.0, 1.0])
    assert R.directive_signal(chi, m, d) == (0.0, 1.0)
    assert R.dominant_signal(chi, m, d, voice, 1.0) == (1.0, 1.0)
    sig, obe = R.dominant_signal(chi, m, d, voice, 0.25)
    assert sig == pytest.approx(0.25) and obe == 1.0
    # equal voices: the first agency with the largest weight decides (MOIS here)
    assert R.dominant_signal(chi, m, d, np.ones(4), 1.0) == (-1.0, 1.0)


def test_dominant_signal_without_control_is_silent():
    z = np.zeros(4)
    assert R.dominant_signal(z, np.ones(4), np.ones(4), np.ones(4), 1.0) == (0.0, 0.0)


@SET
@given(agencies4, directives4, prob)
def test_dominant_signal_stays_in_range(chi, d, dom):
    sig, obe = R.dominant_signal(np.array(chi), np.ones(4), np.array(d), np.ones(4), dom)
    assert -1.0 <= sig <= 1.0 and 0.0 <= obe <= 1.0


# --- coordinated deniability (S1: good cop, bad cop) ----------------------------------------


def test_lines_conflict_only_with_opposite_directives_from_controlling_agencies():
    m = np.ones(4)
    chi = np.array([0.4, 0.6, 0.0, 0.0])
    assert R.lines_conflict(chi, m, np.array([-1.0, 1.0, 1.0, 1.0])) == 1
    assert R.lines_conflict(chi, m, np.array([1.0, 1.0, -1.0, -1.0])) == 0  # calm lines hold none
    assert R.lines_conflict(chi, np.array([0.0, 1.0, 1.0, 1.0]), np.array([-1.0, 1.0, 0, 0])) == 0


@SET
@given(prob, st.integers(0, 1), prob)
def test_coordinated_attribution_neutral_and_bounds(p, conflict, c):
    assert R.coordinated_attribution(p, conflict, 0.0) == p
    assert R.coordinated_attribution(p, 0, c) == p
    q = R.coordinated_attribution(p, conflict, c)
    assert 0.0 <= q <= p
    assert R.coordinated_attribution(p, 1, 1.0) == 0.0


# --- event-triggered directives (S1) --------------------------------------------------------


@SET
@given(unit, st.floats(1.0, 60.0), st.sampled_from([-1, 0, 1]), st.floats(-5.0, 100.0), pos)
def test_reconsiders_after_event_at_zero_is_reconsiders_directive(u, days, cur, since, lag):
    assert R.reconsiders_after_event(u, days, cur, since, lag, 0.0) == R.reconsiders_directive(
        u, days, cur
    )


def test_reconsiders_after_event_known_answer():
    # 14-day persistence: u = 0.5 keeps the directive on an ordinary day ...
    assert R.reconsiders_after_event(0.5, 14.0, 1, 5.0, 2.0, 0.9) == 0
    # ... but two days after a strike the agency reissues it with probability 0.9
    assert R.reconsiders_after_event(0.5, 14.0, 1, 2.0, 2.0, 0.9) == 1
    assert R.reconsiders_after_event(0.95, 14.0, 1, 2.0, 2.0, 0.9) == 0
    assert R.reconsiders_after_event(0.95, 14.0, 1, 2.0, 2.0, 1.0) == 1


@SET
@given(st.floats(1.0, 60.0), prob)
def test_reconsider_probability_on_event_day_is_max_of_both(days, p_event):
    us = np.linspace(0.0, 0.999999, 2001)
    hits = np.mean([R.reconsiders_after_event(u, days, 1, 2.0, 2.0, p_event) for u in us])
    assert hits == pytest.approx(max(1.0 / days, p_event), abs=2e-3)


# --- control timeline (S1) -------------------------------------------------------------------


@SET
@given(st.integers(0, 3), st.integers(0, 1), st.integers(0, 1), prob, st.floats(0.0, 1000.0), pos)
def test_control_timeline_at_zero_is_control_multiplier(agency, frag, unified, qf, since, ramp):
    assert R.control_timeline(agency, frag, unified, qf, since, 0.0, ramp) == (
        R.control_multiplier(agency, frag, unified, qf)
    )


def test_control_timeline_known_answers():
    # before 3 Jan 2020 everyone answers to Soleimani: the other agencies hold nothing
    assert R.control_timeline(2, 0, 0, 0.35, -1.0, 1.0, 300.0) == 0.0
    assert R.control_timeline(1, 0, 0, 0.35, -1.0, 1.0, 300.0) == 1.0
    # after: Qaani's grip falls at once, Beit Rahbari's rises over the takeover period
    assert R.control_timeline(1, 1, 0, 0.35, 10.0, 1.0, 300.0) == 0.35
    assert R.control_timeline(2, 1, 0, 0.35, 0.0, 1.0, 300.0) == 0.0
    assert R.control_timeline(2, 1, 0, 0.35, 150.0, 1.0, 300.0) == pytest.approx(0.5)
    assert R.control_timeline(2, 1, 0, 0.35, 300.0, 1.0, 300.0) == 1.0
    # takeover at once (0 days) and a unified command (policy lever)
    assert R.control_timeline(2, 1, 0, 0.35, 0.0, 1.0, 0.0) == 1.0
    assert R.control_timeline(2, 0, 1, 0.35, -1.0, 1.0, 300.0) == 1.0


@SET
@given(st.integers(0, 3), prob, st.floats(0.0, 400.0), st.floats(0.0, 400.0), prob)
def test_control_timeline_rises_with_time_after_decapitation(agency, s, t1, t2, qf):
    a, b = sorted((t1, t2))
    assert R.control_timeline(agency, 1, 0, qf, a, s, 300.0) <= R.control_timeline(
        agency, 1, 0, qf, b, s, 300.0
    )


# --- Iranian restraint after red lines (S0, S3, R2) -------------------------------------------


def test_restraint_trigger_known_answers():
    assert R.restraint_trigger(V.T_PM, 0, 3.0) == 1  # 7 Nov 2021
    assert R.restraint_trigger(V.T_US_BASE, 3, 3.0) == 1  # Tower 22, 28 Jan 2024
    assert R.restraint_trigger(V.T_US_BASE, 2, 3.0) == 0  # Taji, 11 Mar 2020: no restraint
    assert R.restraint_trigger(V.T_US_BASE, 9, 0.0) == 0  # US line switched off
    assert R.restraint_trigger(V.T_STATE, 0, 3.0) == 0


@SET
@given(
    logodds,
    st.integers(0, 1),
    pos,
    pos,
    pos,
    st.integers(0, 1),
    pos,
    st.floats(0.0, 5.0),
    st.integers(0, 1),
)
def test_restrained_escalation_at_zero_is_escalation_probability(
    h, app_on, app, rev, rw, truce, calm, restraint, war
):
    old = R.escalation_probability(h, app_on, app, rev, rw, truce, calm)
    new = R.restrained_escalation_probability(
        h, app_on, app, rev, rw, truce, calm, restraint, 0.0, war, 0.0, war, 0.0
    )
    assert new == old  # bit for bit


@SET
@given(logodds, st.floats(0.0, 5.0), st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_restraint_lowers_and_war_raises_escalation(h, r1, r2, w):
    lo, hi = sorted((r1, r2))
    p = R.restrained_escalation_probability
    assert p(h, 0, 0.0, 0.0, 1.0, 0, 1.5, hi, 2.0, 0, 0.0, 0, 0.0) <= p(
        h, 0, 0.0, 0.0, 1.0, 0, 1.5, lo, 2.0, 0, 0.0, 0, 0.0
    )
    assert p(h, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, 1, w, 0, 0.0) >= p(
        h, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, 0, w, 0, 0.0
    )


def test_restrained_escalation_known_answer():
    # hawkishness 0.8, restraint 1 at weight 3: log-odds -2.2
    p = R.restrained_escalation_probability(0.8, 0, 0.0, 0.0, 1.0, 0, 1.5, 1.0, 3.0, 0, 0.0, 0, 0.0)
    assert p == pytest.approx(1.0 / (1.0 + math.exp(2.2)))
    p = R.restrained_escalation_probability(0.0, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, 1, 2.0, 0, 0.0)
    assert p == pytest.approx(1.0 / (1.0 + math.exp(-2.0)))


@SET
@given(logodds, st.floats(0.0, 5.0), st.integers(0, 1), st.floats(0.0, 5.0))
def test_campaign_raises_escalation_and_is_inert_at_zero(h, c, war, w):
    p = R.restrained_escalation_probability
    off = p(h, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, war, w, 0, c)
    assert p(h, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, war, w, 1, 0.0) == off  # strength 0: old
    assert p(h, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, war, w, 1, c) >= off


def test_campaign_known_answer():
    # hawkishness -0.5 and a campaign of 1.5 log-odds: log-odds 1.0
    p = R.restrained_escalation_probability(
        -0.5, 0, 0.0, 0.0, 1.0, 0, 1.5, 0.0, 0.0, 0, 0.0, 1, 1.5
    )
    assert p == pytest.approx(1.0 / (1.0 + math.exp(-1.0)))


@pytest.mark.parametrize("window_on", [R.campaign_on, R.war_on], ids=["campaign", "war"])
def test_window_rules_are_half_open(window_on):
    assert window_on(10, -1.0, 100.0) == 0  # no window recorded
    assert window_on(9, 10.0, 20.0) == 0
    assert window_on(10, 10.0, 20.0) == 1
    assert window_on(19, 10.0, 20.0) == 1
    assert window_on(20, 10.0, 20.0) == 0


# --- fronts after a raid (S2), replacing the convoy shift ---------------------------------


@SET
@given(prob, pos, pos)
def test_exposed_front_share_neutral_bounds_and_monotone(f, e, k):
    assert R.exposed_front_share(f, e, 0.0) == f
    assert R.exposed_front_share(f, 0.0, k) == f
    g = R.exposed_front_share(f, e, k)
    assert f <= g <= 1.0
    assert R.exposed_front_share(f, e + 1.0, k) >= g


def test_exposed_front_share_known_answer():
    # a raid (exposure 1) with shift log(2): half of the unclaimed attacks go to fronts
    assert R.exposed_front_share(0.25, 1.0, math.log(2.0)) == pytest.approx(0.625)


@SET
@given(pos, pos)
def test_raid_hiatus_neutral_and_bounds(e, h):
    assert R.raid_hiatus(e, 0.0) == 1.0
    assert R.raid_hiatus(0.0, h) == 1.0
    assert 0.0 <= R.raid_hiatus(e, h) <= 1.0
    assert R.raid_hiatus(1.0, 2.0) == pytest.approx(math.exp(-2.0))


def test_deniable_shift_is_resourced_not_to_s2():
    doc = R.deniable_shift.py_func.__doc__
    assert "calibration device" in doc and "T10" in doc
    assert "exposed_front_share" in doc  # points to the rule that implements S2


# --- the post-election turn against the state (S0, S3) ---------------------------------------


@SET
@given(st.integers(0, 5), st.integers(0, 1), pos)
def test_state_turn_neutral_is_one(t, past, loss):
    assert R.state_turn_multiplier(t, past, 1.0, 0.0, loss) == 1.0


def test_state_turn_known_answers():
    # before the election: the PM is spared, INIS is not (29 Jul 2021, Nibras Farman)
    assert R.state_turn_multiplier(V.T_PM, 0, 0.0, 0.5, 3.0) == 0.0
    assert R.state_turn_multiplier(V.T_STATE, 0, 0.0, 0.5, 3.0) == 1.0
    # after it: AAH (loss 3) turns on INIS and the PM
    assert R.state_turn_multiplier(V.T_PM, 1, 0.0, 0.5, 3.0) == 2.5
    assert R.state_turn_multiplier(V.T_STATE, 1, 0.0, 0.5, 3.0) == 2.5
    assert R.state_turn_multiplier(V.T_ACTIVIST, 1, 0.0, 0.5, 3.0) == 1.0
    assert R.state_turn_multiplier(V.T_US_BASE, 0, 0.0, 0.5, 3.0) == 1.0


# --- raids chosen by the PM's own evidence (S2, S4) ------------------------------------------


@SET
@given(st.lists(st.floats(0.0, 5.0), min_size=1, max_size=6), st.lists(pos, min_size=6, max_size=6))
def test_raid_suspect_at_zero_is_prime_suspect(blame, evidence):
    b = np.array(blame)
    e = np.array(evidence[: len(blame)])
    assert R.raid_suspect(b, e, 0.0) == R.prime_suspect(b)


def test_raid_suspect_survives_a_us_strike():
    # KH carries the PM's evidence; a US strike has just reset KH's US blame to 0
    blame = np.array([0.0, 0.6])
    evidence = np.array([2.0, 0.0])
    assert R.prime_suspect(blame) == 1
    assert R.raid_suspect(blame, evidence, 1.0) == 0
    assert R.raid_suspect(np.zeros(2), np.array([0.4, 0.3]), 1.0) == -1  # too little evidence
    assert R.raid_suspect(np.zeros(2), np.array([0.7, 0.7]), 1.0) == 0  # first on ties


@SET
@given(st.integers(-1, 3), st.integers(-1, 5), prob, prob)
def test_evidence_probability(claimed, target, inv, via):
    p = R.evidence_probability(claimed, target, inv, via)
    assert 0.0 <= p <= inv
    if target < 0:
        assert p == 0.0
    elif claimed < 0:
        assert p == inv
    else:
        assert p == pytest.approx(inv * via)


# --- a crackdown that can work (issue 16 item 9) ---------------------------------------------


@SET
@given(pos, prob)
def test_seized_stock(stock, f):
    assert R.seized_stock(stock, 0.0) == stock
    assert R.seized_stock(stock, f) == pytest.approx(stock * (1.0 - f))
    assert R.seized_stock(stock, 1.0) == 0.0


def test_convicted_and_legitimacy_gain():
    assert R.convicted(1000.0, 0.0) == 0  # neutral: never convicted
    assert R.convicted(29.0, 30.0) == 0 and R.convicted(30.0, 30.0) == 1
    assert R.legitimacy_after_conviction(0.5, 0.2) == pytest.approx(0.7)
    assert R.legitimacy_after_conviction(0.9, 0.2) == 1.0


@SET
@given(prob, prob, st.floats(0.5, 400.0))
def test_legitimacy_recovery(leg, level, tau):
    assert R.legitimacy_recovery(leg, level, 0.0) == leg  # neutral: no recovery
    x = R.legitimacy_recovery(leg, level, tau)
    assert min(leg, level) - 1e-12 <= x <= max(leg, level) + 1e-12
    # n days of recovery close the gap by exp(-n / tau) (analytic solution)
    y = leg
    for _ in range(30):
        y = R.legitimacy_recovery(y, level, tau)
    assert y - level == pytest.approx((leg - level) * math.exp(-30.0 / tau), abs=1e-9)


# --- the parameters of these rules: neutral defaults, with units and sources -----------------

NEUTRAL = {
    ("IranParams", "dominance"): 0.0,
    ("IranParams", "coordination"): 0.0,
    ("IranParams", "event_reconsider"): 0.0,
    ("IranParams", "soleimani_exclusive"): 0.0,
    ("IranParams", "restraint"): 0.0,
    ("IranParams", "war_appetite"): 0.0,
    ("IranParams", "campaign_appetite"): 0.0,
    ("MilitiaParams", "front_shift"): 0.0,
    ("MilitiaParams", "hiatus"): 0.0,
    ("MilitiaParams", "pm_before_election"): 1.0,
    ("MilitiaParams", "state_turn"): 0.0,
    ("PMParams", "own_evidence"): 0.0,
    ("PMParams", "raid_seizure"): 0.0,
    ("PMParams", "conviction_days"): 0.0,
    ("PMParams", "conviction_legitimacy"): 0.0,
    ("PMParams", "legitimacy_recovery_tau"): 0.0,
}


@pytest.mark.parametrize(("block", "field"), sorted(NEUTRAL))
def test_new_parameters_default_to_their_neutral_value(block, field):
    from sim.scenario import schema

    info = getattr(schema, block).model_fields[field]
    assert info.default == NEUTRAL[(block, field)]
    extra = info.json_schema_extra
    assert extra["units"] and extra["source"], f"{block}.{field} needs units and a source"


def test_regional_war_inject_has_its_own_code():
    # the code must not collide with the internal policy row (I_PM_POLICY)
    assert V.INJECT_CODES["regional_war"] == V.I_REGIONAL_WAR != V.I_PM_POLICY
    assert all(V.INJECT_CODES[k] == i for i, k in enumerate(V.INJECT_KINDS[: V.I_PM_POLICY]))
    assert set(V.INJECT_CODES) == set(V.INJECT_KINDS)
    assert V.INJECT_CODES["pressure_campaign"] == V.I_PRESSURE_CAMPAIGN
