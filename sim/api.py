"""Python entry points for notebooks: ``load_scenario``, ``run``, ``compare``, ``load_results``.

Results come as pandas DataFrames with the same dtypes whether they were just run in memory or
read back from a results directory: ``date`` is ``datetime64``, counts are integers, binary
outcomes are booleans, and the string columns are categoricals.

Example::

    from sim import run, compare, load_results
    res = run("scenarios/historical.yaml", runs=200, seed=1)
    res.events            # one row per event
    res.outcomes          # one row per replicate
    res.monthly("attack") # events per month and replicate, months without any counted as 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.results.events import to_frame
from sim.results.outcomes import OUTCOMES
from sim.scenario import LoadedScenario
from sim.scenario import load_scenario as _load

#: outcomes that count things (integers) and yes/no outcomes (booleans), from the catalogue;
#: the rest (days, ratios) stay floats
COUNT_OUTCOMES = tuple(o.key for o in OUTCOMES if o.kind == "count" and not o.source)
BINARY_OUTCOMES = tuple(o.key for o in OUTCOMES if o.kind == "share" and not o.source)


def load_scenario(path: str | Path) -> LoadedScenario:
    """Load and validate a scenario file (raises ``ScenarioError`` naming file, line, field)."""
    return _load(path)


def outcome_frame(runs) -> pd.DataFrame:
    """Return per-replicate outcomes (a pyarrow table or DataFrame) with their proper dtypes.

    Parameters
    ----------
    runs : pyarrow.Table or pandas.DataFrame
        One row per replicate, as in ``runs.parquet``.

    Returns
    -------
    pandas.DataFrame
        Indexed by nothing, column ``run`` first; counts ``int64``, binaries ``bool``.
    """
    df = runs if isinstance(runs, pd.DataFrame) else runs.to_pandas()
    df = df.sort_values("run").reset_index(drop=True)
    for col in COUNT_OUTCOMES:
        if col in df and not df[col].isna().any():
            df[col] = df[col].round().astype("int64")
    for col in BINARY_OUTCOMES:
        if col in df and not df[col].isna().any():
            df[col] = df[col].astype(bool)
    return df


def event_frame(events) -> pd.DataFrame:
    """Return the event log (a pyarrow table) as a DataFrame: dates as ``datetime64``."""
    df = to_frame(events)
    for col in ("run", "killed", "us_killed", "day"):
        if col in df:
            df[col] = df[col].astype("int64")
    return df


@dataclass(frozen=True)
class Results:
    """Events and per-replicate outcomes of one scenario."""

    events: pd.DataFrame
    outcomes: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    name: str

    @property
    def runs(self) -> int:
        """Number of replicates."""
        return len(self.outcomes)

    def monthly(self, kind: str = "attack", **match: str) -> pd.DataFrame:
        """Count events per calendar month and replicate, with zeros for months without any.

        Parameters
        ----------
        kind : str
            Event kind (``attack``, ``us_strike``, ``arrest``, ...).
        **match : str
            Further column filters, e.g. ``target="convoy"``.

        Returns
        -------
        pandas.DataFrame
            Rows: months of the horizon (a ``PeriodIndex``); columns: replicates; integer counts.
        """
        ev = self.events[self.events["kind"] == kind]
        for col, value in match.items():
            ev = ev[ev[col] == value]
        months = pd.period_range(self.start, self.end, freq="M", name="month")
        counts = ev.groupby([ev["date"].dt.to_period("M"), "run"], observed=True).size()
        table = counts.unstack("run", fill_value=0)
        runs = self.outcomes["run"].to_numpy()
        table = table.reindex(index=months, columns=runs, fill_value=0).fillna(0)
        table.columns.name = "run"
        return table.astype("int64")


def _results(loaded: LoadedScenario, events, runs) -> Results:
    sc = loaded.scenario
    return Results(
        event_frame(events),
        outcome_frame(runs),
        pd.Timestamp(sc.start),
        pd.Timestamp(sc.end),
        sc.name,
    )


def run(
    scenario: str | Path | LoadedScenario,
    runs: int = 100,
    seed: int | None = None,
    engine: str = "kernel",
    out: str | Path | None = None,
    posterior: str | Path | bool = False,
) -> Results:
    """Run replicates of a scenario; return its events and per-replicate outcomes.

    Parameters
    ----------
    scenario : path or LoadedScenario
        The scenario file, or one already loaded.
    runs : int
        Number of replicates.
    seed : int, optional
        Seed (default: the scenario's).
    engine : {"kernel", "mesa"}
        Engine; both give identical event logs.
    out : path, optional
        If given, also write a results directory there (as ``escsim run --out``).
    posterior : path or bool
        Run over a posterior sample, replicate k at draw k (as ``escsim run --posterior FILE``;
        True: ``calibration/posterior.parquet``, as ``--over-posterior``); False: the fixed,
        fitted parameters.

    Returns
    -------
    Results
        ``events`` (one row per event) and ``outcomes`` (one row per replicate).
    """
    from sim.runner import run_in_memory, run_scenario

    loaded = scenario if isinstance(scenario, LoadedScenario) else _load(scenario)
    design = _posterior_run(loaded, posterior, runs, seed) if posterior is not False else None
    if out is not None:
        run_scenario(loaded, Path(out), runs, seed=seed, engine=engine, argv=[], design=design)
        return load_results(out)
    events, runs_table = run_in_memory(loaded, runs, seed=seed, engine=engine, design=design)
    return _results(loaded, events, runs_table)


def _posterior_run(
    loaded: LoadedScenario, posterior: str | Path | bool, runs: int, seed: int | None
) -> object:
    """Return the ``PosteriorRun`` of ``run(posterior=...)``: replicate k at draw k."""
    from sim.analysis.design import DesignScenario
    from sim.analysis.posterior import DEFAULT_POSTERIOR, PosteriorRun, read_posterior

    seed = loaded.scenario.seed if seed is None else seed
    post = read_posterior(DEFAULT_POSTERIOR if posterior is True else Path(posterior))
    return PosteriorRun.of(DesignScenario.of(loaded.scenario, seed=seed), post, runs, seed)


def load_results(path: str | Path) -> Results:
    """Read a results directory of ``escsim run`` with the dtypes of an in-memory ``run``.

    Parameters
    ----------
    path : path
        A directory holding ``events.parquet``, ``runs.parquet`` and ``manifest.json``.

    Returns
    -------
    Results
        The same frames ``run`` returns.
    """
    import json

    import pyarrow.parquet as pq

    p = Path(path)
    manifest = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    sc = manifest.get("scenario", {})
    return Results(
        event_frame(pq.read_table(p / "events.parquet")),
        outcome_frame(pq.read_table(p / "runs.parquet")),
        pd.Timestamp(manifest.get("start", sc.get("start"))),
        pd.Timestamp(manifest.get("end", sc.get("end"))),
        sc.get("name", p.name),
    )


@dataclass(frozen=True)
class Comparison:
    """A paired comparison: statistics as DataFrames and each scenario's results."""

    table: pd.DataFrame  # one row per (outcome, scenario): levels and paired differences
    results: dict[str, Results]
    base: str
    outcome_from: pd.Timestamp

    @property
    def levels(self) -> pd.DataFrame:
        """Median and 90% interval of each outcome (rows) per scenario (columns)."""
        return self.table.pivot(index="outcome", columns="scenario", values="median")

    @property
    def differences(self) -> pd.DataFrame:
        """Mean paired difference against the base with its CI, one row per outcome/scenario."""
        cols = [c for c in self.table.columns if c.startswith("diff_")]
        rows = self.table[self.table["scenario"] != self.base]
        return rows[["outcome", "scenario", *cols]].reset_index(drop=True)

    def to_csv(self, path: str | Path) -> Path:
        """Write the statistics table as CSV; return the path."""
        self.table.to_csv(path, index=False)
        return Path(path)

    def to_excel(self, path: str | Path) -> Path:
        """Write the statistics, levels and differences as sheets of one Excel file."""
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            self.table.to_excel(xl, sheet_name="statistics", index=False)
            self.levels.to_excel(xl, sheet_name="medians")
            self.differences.to_excel(xl, sheet_name="differences", index=False)
        return Path(path)


def compare(
    scenarios: Sequence[str | Path | LoadedScenario],
    runs: int = 100,
    seed: int | None = None,
    engine: str = "kernel",
) -> Comparison:
    """Run scenarios on common random numbers in memory and compare their paired outcomes.

    Parameters
    ----------
    scenarios : sequence of paths or LoadedScenario
        The first is the base of the paired differences.
    runs : int
        Replicates per scenario.
    seed : int, optional
        Seed shared by every scenario (default: the first scenario's).
    engine : {"kernel", "mesa"}
        Engine.

    Returns
    -------
    Comparison
        ``table`` (as ``comparison.csv``), ``levels``, ``differences``, and each scenario's
        ``results``; ``to_csv`` and ``to_excel`` export them.
    """
    from sim.analysis.compare import (
        check_windows,
        common_window,
        compare_outcomes,
        directory_names,
    )
    from sim.analysis.compare import outcome_frame as paired_frame
    from sim.runner import run_in_memory

    loaded = [s if isinstance(s, LoadedScenario) else _load(s) for s in scenarios]
    _, outcome_from, _ = check_windows(loaded)
    loaded = common_window(loaded, outcome_from)
    seed = loaded[0].scenario.seed if seed is None else seed
    results, frames = {}, {}
    for ls, name in zip(loaded, directory_names(loaded), strict=True):
        events, runs_table = run_in_memory(ls, runs, seed=seed, engine=engine)
        results[name] = dataclasses.replace(_results(ls, events, runs_table), name=name)
        frames[name] = paired_frame(runs_table.to_pandas())
    comp = compare_outcomes(frames, seed)
    return Comparison(comp.table, results, comp.base, pd.Timestamp(outcome_from))
