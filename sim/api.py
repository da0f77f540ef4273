"""Python entry points for notebooks: ``load_scenario`` and ``run``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.results.events import to_frame
from sim.scenario import LoadedScenario
from sim.scenario import load_scenario as _load


def load_scenario(path: str | Path) -> LoadedScenario:
    """Load and validate a scenario file (raises ``ScenarioError`` naming file, line, field)."""
    return _load(path)


def run(
    scenario: str | Path | LoadedScenario,
    runs: int = 100,
    seed: int | None = None,
    engine: str = "kernel",
    out: str | Path | None = None,
) -> pd.DataFrame:
    """Run replicates of a scenario and return the event log as a DataFrame.

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

    Returns
    -------
    pandas.DataFrame
        One row per event (see ``sim.results.events``).
    """
    from sim.runner import run_in_memory, run_scenario

    loaded = scenario if isinstance(scenario, LoadedScenario) else _load(scenario)
    if out is not None:
        import pyarrow.parquet as pq

        res = run_scenario(loaded, Path(out), runs, seed=seed, engine=engine, argv=[])
        return to_frame(pq.read_table(res.out / "events.parquet"))
    events, _ = run_in_memory(loaded, runs, seed=seed, engine=engine)
    return to_frame(events)
