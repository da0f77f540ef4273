"""Posterior predictive runs shared by the science tests (small replicate counts, one run each).

Replicate k runs posterior draw k of ``calibration/posterior.parquet`` (``sim.api.run(...,
posterior=...)``, as ``escsim run --over-posterior``), so a documented pattern is checked
against the model with its parameter uncertainty, not at one fitted point.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.api import run
from tests.conftest import ROOT, SCENARIOS

RUNS = 30
POSTERIOR = ROOT / "calibration" / "posterior.parquet"
US_TARGETS = ("us_base", "us_embassy", "convoy")


class Log:
    """The event log of a run, with counting helpers per replicate."""

    def __init__(self, events: pd.DataFrame, runs: int) -> None:
        self.events = events
        self.runs = runs
        self.attacks = events[events["kind"] == "attack"]

    def count(self, frame: pd.DataFrame, start: str, end: str) -> pd.Series:
        """Events of ``frame`` per replicate, ``start`` to ``end`` inclusive (0 if none)."""
        inside = frame[(frame["date"] >= start) & (frame["date"] <= end)]
        return inside.groupby("run").size().reindex(range(self.runs), fill_value=0)

    def attacks_on(self, *targets: str) -> pd.DataFrame:
        """Attacks on the given targets."""
        return self.attacks[self.attacks["target"].isin(targets)]

    def daily_rate(self, frame: pd.DataFrame, start: str, end: str) -> float:
        """Mean events per day and replicate between ``start`` and ``end`` (inclusive)."""
        days = (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
        return float(self.count(frame, start, end).mean()) / days


@pytest.fixture(scope="session")
def historical() -> Log:
    """The historical replay (Oct 2019 - Dec 2021) over the posterior."""
    return Log(run(SCENARIOS / "historical.yaml", runs=RUNS, posterior=POSTERIOR).events, RUNS)


@pytest.fixture(scope="session")
def episode() -> Log:
    """The 2023-24 episode over the (2019-21) posterior."""
    sc = SCENARIOS / "episode_2023_2024.yaml"
    return Log(run(sc, runs=RUNS, posterior=POSTERIOR).events, RUNS)
