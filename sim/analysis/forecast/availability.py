"""What was known at a forecast origin: a report counts only once it was published.

A tally of ``calibration/data/tallies.csv`` is known at an origin when its window ended on or
before the origin AND its ``source_date`` (the publication date of the report) is on or before
the origin. Some windows are published days or weeks after they close (T14: window to
2020-09-30, published 2020-10-22; T72: window to 2020-07-31, published 2020-09-28), so the
window's end alone would let a forecast use a report nobody had yet. A ``source_date`` given to
the month only (``2021-04``) is read as the last day of that month (the report is known from the
end of the month on); an empty or unreadable date makes the report unknown at every origin.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def publication_date(source_date: str) -> dt.date | None:
    """Return the publication date of a ``source_date`` cell (a month: its last day).

    Parameters
    ----------
    source_date : str
        ``YYYY-MM-DD`` or ``YYYY-MM``.

    Returns
    -------
    datetime.date or None
        None when the cell is empty or not a date.
    """
    s = str(source_date).strip()
    try:
        if len(s) == 7:
            return pd.Period(s, freq="M").end_time.date()
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


def published(tallies: pd.DataFrame) -> pd.Series:
    """Return each tally's publication date as a datetime64 Series (NaT when unknown)."""
    if "source_date" not in tallies:
        return pd.Series(pd.NaT, index=tallies.index, dtype="datetime64[ns]")
    return pd.to_datetime(tallies["source_date"].map(publication_date))


def known_mask(tallies: pd.DataFrame, origin: dt.date) -> np.ndarray:
    """Return a boolean mask: window ended and report published on or before ``origin``."""
    o = pd.Timestamp(origin)
    pub = published(tallies)
    return ((tallies["end"] <= o) & pub.notna() & (pub <= o)).to_numpy(bool)


def known_at(tallies: pd.DataFrame, origin: dt.date) -> pd.DataFrame:
    """Return the tallies known at ``origin`` (window ended and published by then)."""
    return tallies[known_mask(tallies, origin)]


def known_date(tallies: pd.DataFrame, ids: list[str]) -> dt.date:
    """Return the first day on which all the tallies ``ids`` were published.

    Raises
    ------
    ValueError
        If an id is not in ``tallies`` or has no publication date.
    """
    rows = tallies.set_index("id")
    missing = [k for k in ids if k not in rows.index]
    if missing:
        raise ValueError(f"tallies: unknown ids {missing}")
    pub = published(rows.loc[list(ids)])
    if pub.isna().any():
        raise ValueError(f"tallies: no publication date for {list(pub.index[pub.isna()])}")
    return pub.max().date()


__all__ = ["known_at", "known_date", "known_mask", "publication_date", "published"]
