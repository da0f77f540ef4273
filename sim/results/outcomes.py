"""The outcome catalogue and the per-replicate metrics (one row of ``runs.parquet``).

Every outcome is declared once, in ``OUTCOMES``: its key, label, unit, kind, which direction is
better, how it is computed and the definition printed under tables. Metrics (``runs.parquet``
columns, computed by ``replicate_metrics``), the comparison (``sim.analysis.compare``), the figures
and brief (``sim.report``) and the CLI summary all read it.

Outcomes are counted in the outcome window: from the scenario's ``outcome_from`` date (the policy
start, if any) to the end. Definitions:

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

US targets are ``sim.vocab.US_TARGET_NAMES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L

Kind = Literal["count", "share", "days", "ratio"]
"""``count``: a number per replicate; ``share``: 0/1 per replicate, reported as the share of
replicates (a probability); ``days``: days or NaN (never); ``ratio``: a fraction per replicate."""

SPIRAL_SPAN, SPIRAL_SPANS, SPIRAL_FACTOR, SPIRAL_MIN_ATTACKS = 30, 2, 2.0, 5
SPIRAL_DEFINITION = (
    f"attacks on US targets rise and stay up: {SPIRAL_SPANS} consecutive {SPIRAL_SPAN}-day spans "
    f"of the outcome window each hold at least {SPIRAL_FACTOR:g} times the replicate's own "
    f"{SPIRAL_SPAN}-day mean before the window, and at least {SPIRAL_MIN_ATTACKS} (strikes are "
    "not counted: their effect is the paired difference between doctrines)"
)
CALM_WINDOW, CALM_MAX_ATTACKS = 30, 2
PEAK_WINDOW = 30


@dataclass(frozen=True)
class Outcome:
    """One outcome of a replicate.

    Attributes
    ----------
    key : str
        Identifier (a ``runs.parquet`` column if ``source`` is empty).
    label : str
        What tables, figures and the CLI print.
    kind : Kind
        How it is summarised (see ``Kind``).
    unit : str
        Unit of one value (figure axes).
    better : {"lower", "higher", None}
        Which direction is better for the population; None if neither (e.g. the US's own
        strikes).
    source : str
        Empty for a metric column computed by ``replicate_metrics``; else the metric column
        this outcome is derived from, by ``derive``.
    derive : {"value", "any", "never"}
        ``value``: the column as it is; ``any``: 1 if the column is > 0; ``never``: 1 if the
        column is NaN.
    definition : str
        A sentence for the definitions under tables (empty if the label says it all).
    """

    key: str
    label: str
    kind: Kind
    unit: str
    better: Literal["lower", "higher"] | None
    source: str = ""
    derive: Literal["value", "any", "never"] = "value"
    definition: str = ""

    @property
    def column(self) -> str:
        """Return the ``runs.parquet`` column the outcome is read from."""
        return self.source or self.key

    def values(self, columns: Mapping[str, object]) -> np.ndarray:
        """Return the outcome of each replicate (float) from ``runs.parquet`` columns.

        Parameters
        ----------
        columns : mapping
            Column name -> values (a pandas DataFrame, a dict of arrays).
        """
        x = np.asarray(columns[self.column], dtype=float)
        if self.derive == "any":
            return (x > 0).astype(float)
        if self.derive == "never":
            return np.isnan(x).astype(float)
        return x


OUTCOMES: tuple[Outcome, ...] = (
    # metric columns of runs.parquet, in column order (computed by ``replicate_metrics``)
    Outcome("attacks_us", "Attacks on US targets", "count", "attacks", "lower"),
    Outcome(
        "attacks_state",
        "Attacks on the Iraqi state",
        "count",
        "attacks",
        "lower",
        definition="Attacks on the Iraqi state include the PM and activists.",
    ),
    Outcome("attacks_total", "All attacks", "count", "attacks", "lower"),
    Outcome("attacks_on_pm", "Attacks on the PM", "count", "attacks", "lower"),
    Outcome("killed", "Deaths in attacks", "count", "deaths", "lower"),
    Outcome("us_killed", "US deaths", "count", "deaths", "lower"),
    Outcome("us_strikes", "US strikes", "count", "strikes", None),
    Outcome("arrests", "Arrests", "count", "arrests", None),
    Outcome("releases", "Releases", "count", "releases", None),
    Outcome("truce_days", "Days under truce", "count", "days", "higher"),
    Outcome(
        "escalation_spiral",
        "P(escalation spiral)",
        "share",
        "share",
        "lower",
        derive="any",
        definition=f"Escalation spiral: {SPIRAL_DEFINITION}.",
    ),
    Outcome(
        "days_to_deescalation",
        "Days to de-escalation",
        "days",
        "days",
        "lower",
        definition=(
            "Time to de-escalation: days from the policy start to the first day that begins "
            f"{CALM_WINDOW} days with at most {CALM_MAX_ATTACKS} attacks on US targets ('never' "
            "if none; its differences use only the replicates where both scenarios "
            "de-escalated, n given)."
        ),
    ),
    Outcome(
        "peak_30d_us_attacks",
        f"Most attacks on US targets in {PEAK_WINDOW} days",
        "count",
        "attacks",
        "lower",
    ),
    Outcome("front_claim_share", "Share of attacks claimed by fronts", "ratio", "share", None),
    # derived from a metric column
    Outcome(
        "pm_attacked", "P(attack on the PM)", "share", "share", "lower", "attacks_on_pm", "any"
    ),
    Outcome(
        "never_deescalated",
        "P(never de-escalated)",
        "share",
        "share",
        "lower",
        "days_to_deescalation",
        "never",
    ),
)
"""Every outcome, declared once."""

OUTCOME_BY_KEY = {o.key: o for o in OUTCOMES}
METRICS = tuple(o.key for o in OUTCOMES if not o.source)
"""The metric columns of ``runs.parquet`` (after ``run``), in order."""
N_METRICS = len(METRICS)
COMPARED = (
    "attacks_us",
    "attacks_state",
    "us_killed",
    "us_strikes",
    "truce_days",
    "pm_attacked",
    "escalation_spiral",
    "days_to_deescalation",
    "never_deescalated",
)
"""Keys of the outcomes a comparison reports, in table order."""
DIFFERENCE_PANELS = ("attacks_us", "attacks_state", "us_killed", "us_strikes")
"""Keys of the outcomes drawn in the paired-difference figure."""


def definitions(keys: tuple[str, ...]) -> str:
    """Return the definitions of some outcomes, as one paragraph.

    The definitions of probabilities and times come first, then notes on counts.
    """
    chosen = [OUTCOME_BY_KEY[k] for k in keys]
    ordered = [o for o in chosen if o.kind != "count"] + [o for o in chosen if o.kind == "count"]
    return " ".join(o.definition for o in ordered if o.definition)


# column of each metric in the ``replicate_metrics`` array (compile-time constants for numba)
C_ATTACKS_US = METRICS.index("attacks_us")
C_ATTACKS_STATE = METRICS.index("attacks_state")
C_ATTACKS_TOTAL = METRICS.index("attacks_total")
C_ATTACKS_ON_PM = METRICS.index("attacks_on_pm")
C_KILLED = METRICS.index("killed")
C_US_KILLED = METRICS.index("us_killed")
C_US_STRIKES = METRICS.index("us_strikes")
C_ARRESTS = METRICS.index("arrests")
C_RELEASES = METRICS.index("releases")
C_TRUCE_DAYS = METRICS.index("truce_days")
C_ESCALATION_SPIRAL = METRICS.index("escalation_spiral")
C_DAYS_TO_DEESCALATION = METRICS.index("days_to_deescalation")
C_PEAK_30D_US_ATTACKS = METRICS.index("peak_30d_us_attacks")
C_FRONT_CLAIM_SHARE = METRICS.index("front_claim_share")


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
    out = np.zeros((n_reps, N_METRICS))
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
                if V.IS_US_TARGET[t]:
                    us_before += 1
            if day >= outcome_day:
                if kind == V.K_ATTACK:
                    t = records[k, L.E_TARGET]
                    out[r, C_ATTACKS_TOTAL] += 1
                    attacks_all += 1
                    if records[k, L.E_CLAIMED] >= 0:
                        claimed += 1
                    if V.IS_US_TARGET[t]:
                        out[r, C_ATTACKS_US] += 1
                        daily_us[day] += 1
                    else:
                        out[r, C_ATTACKS_STATE] += 1
                    if t == V.T_PM:
                        out[r, C_ATTACKS_ON_PM] += 1
                    out[r, C_KILLED] += records[k, L.E_KILLED]
                    out[r, C_US_KILLED] += records[k, L.E_US_KILLED]
                elif kind == V.K_US_STRIKE:
                    out[r, C_US_STRIKES] += 1
                elif kind == V.K_ARREST:
                    out[r, C_ARRESTS] += 1
                elif kind == V.K_RELEASE:
                    out[r, C_RELEASES] += 1
            k += 1
        for f in range(n_factions):
            if truce_from[f] >= 0:
                for d in range(truce_from[f], n_days):
                    in_truce[d] = 1
        td = 0
        for d in range(outcome_day, n_days):
            td += in_truce[d]
        out[r, C_TRUCE_DAYS] = td
        # cumulative sums: cum[d] = events before day d
        cum_us = np.zeros(n_days + 1, dtype=np.int64)
        for d in range(n_days):
            cum_us[d + 1] = cum_us[d] + daily_us[d]
        out[r, C_ESCALATION_SPIRAL] = _spiral(cum_us, us_before, outcome_day, n_days)
        calm = np.nan
        for d in range(outcome_day, n_days - CALM_WINDOW + 1):
            if cum_us[d + CALM_WINDOW] - cum_us[d] <= CALM_MAX_ATTACKS:
                calm = d - outcome_day
                break
        out[r, C_DAYS_TO_DEESCALATION] = calm
        out[r, C_PEAK_30D_US_ATTACKS] = _window_max(cum_us, outcome_day, n_days, PEAK_WINDOW)
        out[r, C_FRONT_CLAIM_SHARE] = claimed / attacks_all if attacks_all > 0 else np.nan
    return out


# --- monthly counts (``monthly.parquet``: written by every run, whatever ``--events`` says) ------

MONTHLY_COLUMNS = ("attacks_us", "attacks_state", "us_strikes")
"""Count columns of ``monthly.parquet`` (after ``run`` and ``month``), over the whole horizon."""


def monthly_counts(
    records: np.ndarray,
    reps: np.ndarray,
    rep_start: int,
    n_reps: int,
    start: np.datetime64 | object,
    n_days: int,
) -> dict[str, np.ndarray]:
    """Count attacks on US targets, on the state and US strikes per replicate and calendar month.

    Parameters
    ----------
    records : ndarray (N, N_ECOLS) int32
        Event records (``sim.model.layout`` E_* columns) of replicates ``rep_start ..``.
    reps : ndarray (N,) int64
        Replicate index of each record.
    rep_start, n_reps : int
        The replicates counted (every one gets a row per month, zeros included).
    start : date
        The scenario's first day (day 0).
    n_days : int
        Days simulated.

    Returns
    -------
    dict of str to ndarray
        ``run`` (int64), ``month`` (datetime64[D], the first day of the month) and the
        ``MONTHLY_COLUMNS`` counts (int32), ``n_reps * n_months`` rows, by run then month.
    """
    first = np.datetime64(start, "D")
    month_of_day = (first + np.arange(n_days)).astype("datetime64[M]")
    months = np.unique(month_of_day)
    n_months = len(months)
    index = (month_of_day - months[0]).astype(np.int64)
    counts = np.zeros((len(MONTHLY_COLUMNS), n_reps * n_months), dtype=np.int32)
    _count_months(records, reps, rep_start, n_months, index, _US_TARGET, counts)
    cols = {
        "run": np.repeat(np.arange(rep_start, rep_start + n_reps, dtype=np.int64), n_months),
        "month": np.tile(months.astype("datetime64[D]"), n_reps),
    }
    for j, name in enumerate(MONTHLY_COLUMNS):
        cols[name] = counts[j]
    return cols


_US_TARGET = np.asarray(V.IS_US_TARGET, dtype=np.bool_)


@njit(cache=True)
def _count_months(records, reps, rep_start, n_months, month_index, us_target, counts):
    """Add each record to ``counts[column, (rep - rep_start) * n_months + month]`` (one pass)."""
    for k in range(records.shape[0]):
        kind = records[k, L.E_KIND]
        if kind == V.K_ATTACK:
            column = 0 if us_target[max(records[k, L.E_TARGET], 0)] else 1
        elif kind == V.K_US_STRIKE:
            column = 2
        else:
            continue
        slot = (reps[k] - rep_start) * n_months + month_index[records[k, L.E_DAY]]
        counts[column, slot] += 1
