"""Outcome metrics of each replicate (one row of ``runs.parquet``), counted in the outcome window.

The outcome window runs from the scenario's ``outcome_from`` date (the policy start, if any) to
the end. Definitions:

* ``escalation_spiral``: 1 if attacks on US targets rise and stay up (``SPIRAL_DEFINITION``):
  two consecutive 30-day spans of the window each hold at least twice the replicate's own
  30-day mean of attacks on US targets before the window, and at least 5 each. The level before
  the window is the replicate's own shared history (common random numbers: the same in every
  scenario of a comparison), so the measure is escalation against where that replicate stood,
  not a count of strikes. It does not look at strikes at all: whether strikes cause the rise is
  read from the paired difference between scenarios that differ in how the US strikes (with
  strikes that change nothing, P(spiral) is the same under every doctrine:
  ``tests/results/test_spiral.py``). The Aug-Sep 2020 surge (tallies T09-T12) after the quiet of
  spring 2020 is the documented case of such a rise. With no history before the window (it
  starts on the first day) the level is 0 and only the floor of 5 applies.
* ``days_to_deescalation``: days from the window start to the first day that begins 30 days with
  at most 2 attacks on US targets; NaN if that never happens.
* ``peak_30d_us_attacks``: the most attacks on US targets in any 30-day window.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L

METRICS = (
    "attacks_us",
    "attacks_state",
    "attacks_total",
    "attacks_on_pm",
    "killed",
    "us_killed",
    "us_strikes",
    "arrests",
    "releases",
    "truce_days",
    "escalation_spiral",
    "days_to_deescalation",
    "peak_30d_us_attacks",
    "front_claim_share",
)
SPIRAL_SPAN, SPIRAL_SPANS, SPIRAL_FACTOR, SPIRAL_MIN_ATTACKS = 30, 2, 2.0, 5
SPIRAL_DEFINITION = (
    f"attacks on US targets rise and stay up: {SPIRAL_SPANS} consecutive {SPIRAL_SPAN}-day spans "
    f"of the outcome window each hold at least {SPIRAL_FACTOR:g} times the replicate's own "
    f"{SPIRAL_SPAN}-day mean before the window, and at least {SPIRAL_MIN_ATTACKS} (strikes are "
    "not counted: their effect is the paired difference between doctrines)"
)
CALM_WINDOW, CALM_MAX_ATTACKS = 30, 2
PEAK_WINDOW = 30


@njit(cache=True)
def _window_max(cum: np.ndarray, lo: int, hi: int, width: int) -> int:
    best = 0
    for d in range(lo, hi):
        e = min(d + width, hi)
        v = cum[e] - cum[d]
        if v > best:
            best = v
    return best


@njit(cache=True)
def _spiral(cum_us: np.ndarray, us_before: int, outcome_day: int, n_days: int) -> float:
    """Return 1.0 if the window holds a sustained rise of attacks on US targets (see module doc).

    ``cum_us[d]`` counts the window's attacks on US targets before day d; ``us_before`` counts
    those before the window.
    """
    level = us_before * SPIRAL_SPAN / outcome_day if outcome_day >= SPIRAL_SPAN else 0.0
    need = max(float(SPIRAL_MIN_ATTACKS), SPIRAL_FACTOR * level)
    for d in range(outcome_day, n_days - SPIRAL_SPANS * SPIRAL_SPAN + 1):
        ok = True
        for b in range(SPIRAL_SPANS):
            lo = d + b * SPIRAL_SPAN
            if cum_us[lo + SPIRAL_SPAN] - cum_us[lo] < need:
                ok = False
                break
        if ok:
            return 1.0
    return 0.0


@njit(cache=True)
def replicate_metrics(records, reps, rep_start, n_reps, n_days, outcome_day, n_factions):
    """Return an (n_reps, len(METRICS)) array of outcome metrics.

    ``records`` must be grouped by replicate in increasing order, with days non-decreasing
    within each replicate (as both engines emit them).
    """
    out = np.zeros((n_reps, 14))
    daily_us = np.zeros(n_days + 1, dtype=np.int64)
    in_truce = np.zeros(n_days, dtype=np.int64)
    truce_from = np.full(n_factions, -1, dtype=np.int64)
    n = records.shape[0]
    k = 0
    for r in range(n_reps):
        rep = rep_start + r
        daily_us[:] = 0
        in_truce[:] = 0
        truce_from[:] = -1
        claimed = 0
        attacks_all = 0
        us_before = 0
        while k < n and reps[k] == rep:
            day = records[k, L.E_DAY]
            kind = records[k, L.E_KIND]
            actor = records[k, L.E_ACTOR]
            if kind == V.K_TRUCE_START and actor < n_factions and truce_from[actor] < 0:
                truce_from[actor] = day
            elif kind == V.K_TRUCE_END and actor < n_factions and truce_from[actor] >= 0:
                for d in range(truce_from[actor], day):
                    in_truce[d] = 1
                truce_from[actor] = -1
            if day < outcome_day and kind == V.K_ATTACK:
                t = records[k, L.E_TARGET]
                if t == V.T_US_BASE or t == V.T_US_EMBASSY or t == V.T_CONVOY:
                    us_before += 1
            if day >= outcome_day:
                if kind == V.K_ATTACK:
                    t = records[k, L.E_TARGET]
                    out[r, 2] += 1
                    attacks_all += 1
                    if records[k, L.E_CLAIMED] >= 0:
                        claimed += 1
                    if t == V.T_US_BASE or t == V.T_US_EMBASSY or t == V.T_CONVOY:
                        out[r, 0] += 1
                        daily_us[day] += 1
                    else:
                        out[r, 1] += 1
                    if t == V.T_PM:
                        out[r, 3] += 1
                    out[r, 4] += records[k, L.E_KILLED]
                    out[r, 5] += records[k, L.E_US_KILLED]
                elif kind == V.K_US_STRIKE:
                    out[r, 6] += 1
                elif kind == V.K_ARREST:
                    out[r, 7] += 1
                elif kind == V.K_RELEASE:
                    out[r, 8] += 1
            k += 1
        for f in range(n_factions):
            if truce_from[f] >= 0:
                for d in range(truce_from[f], n_days):
                    in_truce[d] = 1
        td = 0
        for d in range(outcome_day, n_days):
            td += in_truce[d]
        out[r, 9] = td
        # cumulative sums: cum[d] = events before day d
        cum_us = np.zeros(n_days + 1, dtype=np.int64)
        for d in range(n_days):
            cum_us[d + 1] = cum_us[d] + daily_us[d]
        out[r, 10] = _spiral(cum_us, us_before, outcome_day, n_days)
        calm = np.nan
        for d in range(outcome_day, n_days - CALM_WINDOW + 1):
            if cum_us[d + CALM_WINDOW] - cum_us[d] <= CALM_MAX_ATTACKS:
                calm = d - outcome_day
                break
        out[r, 11] = calm
        out[r, 12] = _window_max(cum_us, outcome_day, n_days, PEAK_WINDOW)
        out[r, 13] = claimed / attacks_all if attacks_all > 0 else np.nan
    return out
