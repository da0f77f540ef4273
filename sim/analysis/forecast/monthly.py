"""Monthly counts per counter: calendar-month forecast targets from the three data files.

Each target is a count of one counter's series (its weapons and targets) in one calendar month,
as a tally-like row (``id``, ``start``, ``end``, ``count``, ``bound``, ``weapons``, ``targets``,
``measure``, ``counter_id``, ``origin_of_row``), so the model and the baselines forecast it as
they forecast a tally. Three sources, in this order of precedence (a later source never repeats
a counter's month already given by an earlier one):

1. ``calibration/data/monthly.csv``: published monthly counts. Rows with empty ``targets``
   (drone launches at Israel, outside the model's target classes) are not targets.
2. ``calibration/data/tallies.csv`` (rows with ``use = fit``): a tally whose window is exactly
   one calendar month, and the increment of a running total (``nested_in`` chain) between two
   consecutive members whose difference covers exactly one calendar month (exact - exact:
   exact; lower - exact: a lower bound). Only months the chains' dates allow are derived; no
   count is split or interpolated.
3. ``calibration/data/events.csv``: the dated documented attacks on US targets (``us_base``,
   ``us_embassy``, ``convoy``) counted per calendar month under the counter id
   ``events_documented``. The list is compiled from many reports and misses attacks, so each
   count is a LOWER bound ("at least N documented attacks"), scored as a censored report (log
   score of P(X >= N); no CRPS, WIS or PIT). A month with no documented attack is no target
   (P(X >= 0) = 1 for every forecast).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sim import vocab as V
from sim.analysis import observed as O

DOCUMENTED = "events_documented"
"""Counter id of the monthly counts of dated documented attacks (events.csv)."""
US_TARGETS = ("us_base", "us_embassy", "convoy")
COLUMNS = [
    "id",
    "start",
    "end",
    "count",
    "bound",
    "weapons",
    "targets",
    "measure",
    "counter_id",
    "origin_of_row",
]


def _month(start: pd.Timestamp, end: pd.Timestamp) -> pd.Period | None:
    """Return the calendar month if [start, end] is exactly one, else None."""
    p = pd.Period(start, freq="M")
    if start == p.start_time and end.normalize() == p.end_time.normalize():
        return p
    return None


def _row(counter: str, month: pd.Period, count: int, bound: str, weapons, targets, origin: str):
    return {
        "id": f"M:{counter}:{month}",
        "start": month.start_time,
        "end": month.end_time.normalize(),
        "count": int(count),
        "bound": bound,
        "weapons": tuple(weapons),
        "targets": tuple(targets),
        "measure": "attacks",
        "counter_id": counter,
        "origin_of_row": origin,
    }


def from_monthly_csv(path=None) -> pd.DataFrame:
    """Return the targets of ``monthly.csv`` (rows naming model targets only)."""
    p = O.DATA_DIR / "monthly.csv" if path is None else path
    raw = pd.read_csv(p, dtype=str, keep_default_na=False)
    rows = []
    for i, r in raw.iterrows():
        if not r["targets"].strip():
            continue
        weapons = tuple(w for w in r["weapons"].split(";") if w)
        targets = tuple(t for t in r["targets"].split(";") if t)
        bad = [w for w in weapons if w not in V.WEAPONS] + [
            t for t in targets if t not in V.TARGETS
        ]
        if bad or r["bound"] not in ("exact", "approx", "lower"):
            raise ValueError(
                f"{p}, line {i + 2}: unknown weapon, target or bound {bad or r['bound']}"
            )
        m = pd.Period(r["month"], freq="M")
        rows.append(
            _row(r["counter_id"], m, int(r["count"]), r["bound"], weapons, targets, "monthly.csv")
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def from_tallies(tallies: pd.DataFrame) -> pd.DataFrame:
    """Return calendar-month counts of fitted tallies: one-month windows and chain increments."""
    t = tallies[tallies["use"] == "fit"]
    by_id = t.set_index("id")
    rows = []
    for _, r in t.iterrows():
        m = _month(r["start"], r["end"])
        if m is not None:
            rows.append(
                _row(
                    r["counter_id"], m, r["count"], r["bound"], r["weapons"], r["targets"], r["id"]
                )
            )
        parent = r.get("nested_in", "")
        if not parent or parent not in by_id.index:
            continue
        p = by_id.loc[parent]
        if p["bound"] != "exact" or r["bound"] not in ("exact", "lower"):
            continue
        m = _month(p["end"] + pd.Timedelta(days=1), r["end"])
        if m is None or r["count"] < p["count"]:
            continue
        rows.append(
            _row(
                r["counter_id"],
                m,
                r["count"] - p["count"],
                r["bound"],
                r["weapons"],
                r["targets"],
                f"{r['id']}-{parent}",
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def from_events(events: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return the months in [start, end] with documented attacks on US targets (lower bounds)."""
    a = events[(events["kind"] == "attack") & events["target"].isin(US_TARGETS)]
    weapons = tuple(w for w in V.WEAPONS if w in set(a["weapon"]))
    n = a.groupby(pd.to_datetime(a["date"]).dt.to_period("M")).size()
    rows = [
        _row(DOCUMENTED, m, int(c), "lower", weapons, US_TARGETS, "events.csv")
        for m, c in n.items()
        if c > 0 and m.start_time.date() >= start and m.end_time.date() <= end
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def monthly_targets(
    start: dt.date,
    end: dt.date,
    tallies: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return every counter's calendar-month counts inside [start, end], one row per month.

    Parameters
    ----------
    start, end : datetime.date
        A scenario's horizon; only months wholly inside it are returned.
    tallies, events : pandas.DataFrame, optional
        ``observed.load_tallies()`` and ``observed.load_observed_events()`` (default: loaded).

    Returns
    -------
    pandas.DataFrame
        Columns ``COLUMNS``, sorted by month and counter.
    """
    tallies = O.load_tallies() if tallies is None else tallies
    events = O.load_observed_events() if events is None else events
    parts = [from_monthly_csv(), from_tallies(tallies), from_events(events, start, end)]
    allm = pd.concat([p for p in parts if len(p)], ignore_index=True)
    allm = allm.drop_duplicates(subset=["counter_id", "start", "weapons", "targets"], keep="first")
    inside = (allm["start"].dt.date >= start) & (allm["end"].dt.date <= end)
    return allm[inside].sort_values(["end", "counter_id"]).reset_index(drop=True)


def all_months(tallies: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return every monthly target over the whole data (2019-10..2024-12), no horizon applied."""
    return monthly_targets(dt.date(2019, 10, 1), dt.date(2024, 12, 31), tallies)


__all__ = [
    "DOCUMENTED",
    "all_months",
    "from_events",
    "from_monthly_csv",
    "from_tallies",
    "monthly_targets",
]
