"""Out-of-sample splits by date: fit on tallies whose window ends by a date, score the rest.

``escsim calibrate --data-until DATE`` fits only tallies whose window ends on or before DATE
(``observation.select`` marks the later ones ``held_out``); the report scores the posterior
predictive on the held-out tallies (``checks.coverage_table``). The older option
``--holdout-after DATE`` (fit on windows ending BEFORE the date) maps to ``--data-until`` the
day before (``data_until_from_holdout``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def split_by_date(tallies: pd.DataFrame, date: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (seen, unseen): tallies whose window ends on or before ``date``, and the others."""
    end = tallies["end"].dt.date
    return (
        tallies[end <= date].reset_index(drop=True),
        tallies[end > date].reset_index(drop=True),
    )


def data_until_from_holdout(date: dt.date) -> dt.date:
    """Return the ``--data-until`` date equivalent to a deprecated ``--holdout-after`` date."""
    return date - dt.timedelta(days=1)
