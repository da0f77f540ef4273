"""Outcome metrics of each replicate (one row of ``runs.parquet``), counted in the outcome window.

The outcome window runs from the scenario's ``outcome_from`` date (the policy start, if any) to
the end. Definitions:

* ``escalation_spiral``: 1 if the window holds an action-reaction cycle (``SPIRAL_DEFINITION``):
  a US strike after which the next 30 days hold at least 5 attacks on US targets, more than the
  30 days before it, and another US strike follows within 60 days. This is the cycle of Dec 2019
  - Jan 2020 (K-1 attack, strike of 29 Dec, embassy siege and rockets, strike of 3 Jan) and of
  Mar 2020 (Taji, strike of 12 Mar, Taji again on 14 Mar). Frequent strikes alone do not make a
  spiral; strikes that are followed by more attacks and by further strikes do.
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
SPIRAL_AFTER, SPIRAL_MIN_ATTACKS, SPIRAL_NEXT_STRIKE = 30, 5, 60
SPIRAL_DEFINITION = (
    f"a US strike after which the next {SPIRAL_AFTER} days hold at least {SPIRAL_MIN_ATTACKS} "
    f"attacks on US targets, more than the {SPIRAL_AFTER} days before it, and another US strike "
    f"follows within {SPIRAL_NEXT_STRIKE} days"
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
def replicate_metrics(records, reps, rep_start, n_reps, n_days, outcome_day, n_factions):
    """Return an (n_reps, len(METRICS)) array of outcome metrics.

    ``records`` must be grouped by replicate in increasing order, with days non-decreasing
    within each replicate (as both engines emit them).
    """
    out = np.zeros((n_reps, 14))
    daily_us = np.zeros(n_days + 1, dtype=np.int64)
    daily_strike = np.zeros(n_days + 1, dtype=np.int64)
    in_truce = np.zeros(n_days, dtype=np.int64)
    truce_from = np.full(n_factions, -1, dtype=np.int64)
    n = records.shape[0]
    k = 0
    for r in range(n_reps):
        rep = rep_start + r
        daily_us[:] = 0
        daily_strike[:] = 0
        in_truce[:] = 0
        truce_from[:] = -1
        claimed = 0
        attacks_all = 0
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
                    daily_strike[day] += 1
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
        cum_st = np.zeros(n_days + 1, dtype=np.int64)
        for d in range(n_days):
            cum_us[d + 1] = cum_us[d] + daily_us[d]
            cum_st[d + 1] = cum_st[d] + daily_strike[d]
        spiral = 0
        for d in range(outcome_day, n_days):
            if daily_strike[d] == 0:
                continue
            before = cum_us[d] - cum_us[max(d - SPIRAL_AFTER, 0)]
            after = cum_us[min(d + 1 + SPIRAL_AFTER, n_days)] - cum_us[d + 1]
            again = cum_st[min(d + 1 + SPIRAL_NEXT_STRIKE, n_days)] - cum_st[d + 1]
            if after >= SPIRAL_MIN_ATTACKS and after > before and again >= 1:
                spiral = 1
                break
        out[r, 10] = spiral
        calm = np.nan
        for d in range(outcome_day, n_days - CALM_WINDOW + 1):
            if cum_us[d + CALM_WINDOW] - cum_us[d] <= CALM_MAX_ATTACKS:
                calm = d - outcome_day
                break
        out[r, 11] = calm
        out[r, 12] = _window_max(cum_us, outcome_day, n_days, PEAK_WINDOW)
        out[r, 13] = claimed / attacks_all if attacks_all > 0 else np.nan
    return out
