import numpy as np

from sim import vocab as V
from sim.model import layout as L
from sim.results.outcomes import METRICS, replicate_metrics


def rec(day, kind, target=-1, actor=0, killed=0, claimed=-1, us_killed=0):
    r = np.full(L.N_ECOLS, -1, dtype=np.int32)
    r[[L.E_DAY, L.E_KIND, L.E_TARGET, L.E_ACTOR, L.E_KILLED, L.E_CLAIMED, L.E_US_KILLED]] = [
        day,
        kind,
        target,
        actor,
        killed,
        claimed,
        us_killed,
    ]
    return r


def metrics(records, reps, n_reps=1, n_days=100, outcome_day=0, nf=2):
    m = replicate_metrics(
        np.array(records, dtype=np.int32).reshape(-1, L.N_ECOLS),
        np.array(reps, dtype=np.int64),
        0,
        n_reps,
        n_days,
        outcome_day,
        nf,
    )
    return [dict(zip(METRICS, row, strict=True)) for row in m]


def test_counts_on_a_hand_built_log():
    log = [
        rec(1, V.K_ATTACK, V.T_US_BASE, killed=2, us_killed=1, claimed=0),
        rec(2, V.K_ATTACK, V.T_PM),
        rec(3, V.K_US_STRIKE),
        rec(5, V.K_TRUCE_START, actor=0),
        rec(5, V.K_TRUCE_START, actor=1),
        rec(15, V.K_TRUCE_END, actor=0),
        rec(20, V.K_TRUCE_END, actor=1),
        rec(30, V.K_ARREST),
        rec(31, V.K_RELEASE),
    ]
    m = metrics(log, [0] * len(log))[0]
    assert m["attacks_us"] == 1 and m["attacks_state"] == 1 and m["attacks_total"] == 2
    assert m["attacks_on_pm"] == 1 and m["killed"] == 2 and m["us_killed"] == 1
    assert m["us_strikes"] == 1 and m["arrests"] == 1 and m["releases"] == 1
    assert m["truce_days"] == 15  # union of days 5..14 and 5..19
    assert m["front_claim_share"] == 0.5
    assert m["escalation_spiral"] == 0 and m["days_to_deescalation"] == 0


def test_outcome_window_excludes_earlier_events_and_empty_replicates():
    log = [rec(1, V.K_ATTACK, V.T_US_BASE), rec(50, V.K_ATTACK, V.T_US_BASE)]
    m = metrics(log, [1, 1], n_reps=3, outcome_day=10)
    assert m[0]["attacks_total"] == 0 and np.isnan(m[0]["front_claim_share"])
    assert m[1]["attacks_us"] == 1 and m[2]["attacks_total"] == 0


def test_spiral_and_deescalation_definitions():
    # strike on day 40; 2 attacks in the 30 days before, 6 in the 30 after; strike again on day 70
    days = [15, 30] + [45, 48, 51, 54, 57, 60]
    log = [rec(d, V.K_ATTACK, V.T_US_BASE) for d in days]
    log += [rec(40, V.K_US_STRIKE), rec(70, V.K_US_STRIKE)]
    log.sort(key=lambda r: r[L.E_DAY])
    m = metrics(log, [0] * len(log), n_days=200)[0]
    # one 30-day span of 6 attacks after a quiet one is a burst, not a sustained rise
    # (the spiral's own known answers: tests/results/test_spiral.py)
    assert m["escalation_spiral"] == 0
    # first 30-day window with <= 2 US attacks starts on day 0 (attacks on days 15 and 30 only)
    assert m["days_to_deescalation"] == 0
    assert m["peak_30d_us_attacks"] == 6
    # with 4 more attacks on days 20-26, days 15-44 and 45-74 each hold >= 5: a spiral
    busy_before = sorted(
        log + [rec(d, V.K_ATTACK, V.T_US_BASE) for d in (20, 22, 24, 26)], key=lambda r: r[L.E_DAY]
    )
    assert metrics(busy_before, [0] * len(busy_before), n_days=200)[0]["escalation_spiral"] == 1
    # frequent strikes with few attacks are not a spiral
    quiet = sorted(
        [rec(d, V.K_US_STRIKE) for d in range(0, 200, 20)]
        + [rec(d, V.K_ATTACK, V.T_US_BASE) for d in (5, 90)],
        key=lambda r: r[L.E_DAY],
    )
    assert metrics(quiet, [0] * len(quiet), n_days=200)[0]["escalation_spiral"] == 0
    busy = [rec(d, V.K_ATTACK, V.T_US_BASE) for d in range(100)]
    m = metrics(busy, [0] * 100, n_days=100)[0]
    assert np.isnan(m["days_to_deescalation"]) and m["escalation_spiral"] == 1
    assert m["peak_30d_us_attacks"] == 30
