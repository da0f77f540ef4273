"""Reading results directories for figures: monthly counts, documented events, tallies."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.scenario import Scenario
from sim.vocab import US_TARGET_NAMES

# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunData:
    """What the figures need from one results directory (read once, memory-light).

    ``monthly`` holds attacks on US targets per replicate and calendar month of the horizon
    (rows follow ``runs``; columns follow ``months``, the first day of each month).
    """

    name: str
    path: Path
    manifest: dict
    start: pd.Timestamp
    end: pd.Timestamp
    outcome_from: pd.Timestamp
    policy_start: pd.Timestamp | None
    runs: np.ndarray
    months: pd.DatetimeIndex
    monthly: np.ndarray
    documented: pd.DataFrame

    @property
    def outcome_months(self) -> np.ndarray:
        """Boolean mask of the months that lie wholly in the outcome window."""
        return np.asarray(self.months >= self.outcome_from)

    @property
    def window_months(self) -> np.ndarray:
        """Boolean mask of the months that overlap the outcome window (the first may be partial).

        Charts of the outcome window use it, so a policy starting mid-month does not lose its
        first weeks; probabilities of a month's count use the whole months (``outcome_months``).
        """
        ends = self.months + pd.offsets.MonthEnd(0)
        return np.asarray(ends >= self.outcome_from)


def month_starts(start: dt.date | pd.Timestamp, end: dt.date | pd.Timestamp) -> pd.DatetimeIndex:
    """Return the first day of every calendar month from ``start`` to ``end``."""
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    return pd.date_range(s.to_period("M").to_timestamp(), e, freq="MS")


def monthly_counts(
    days: np.ndarray,
    runs: np.ndarray,
    run_ids: np.ndarray,
    start: dt.date | pd.Timestamp,
    n_days: int,
) -> np.ndarray:
    """Count events per replicate and calendar month.

    Parameters
    ----------
    days : ndarray of int
        Day index (since ``start``) of each event.
    runs : ndarray of int
        Replicate of each event.
    run_ids : ndarray of int
        Sorted replicate indices (rows of the result).
    start : date
        Day 0.
    n_days : int
        Days in the horizon.

    Returns
    -------
    ndarray (len(run_ids), n_months) int64
        Counts per replicate and month (months from ``month_starts``).
    """
    s = pd.Timestamp(start)
    dates = s + pd.to_timedelta(np.arange(n_days), unit="D")
    month_of_day = ((dates.year - s.year) * 12 + dates.month - s.month).to_numpy()
    n_months = int(month_of_day[-1]) + 1 if n_days else 0
    if len(run_ids) == 0 or n_months == 0:
        return np.zeros((len(run_ids), n_months), dtype=np.int64)
    pos = np.searchsorted(run_ids, runs)
    ok = (pos < len(run_ids)) & (days >= 0) & (days < n_days)
    ok &= run_ids[np.minimum(pos, len(run_ids) - 1)] == runs
    flat = pos[ok] * n_months + month_of_day[days[ok]]
    return np.bincount(flat, minlength=len(run_ids) * n_months).reshape(len(run_ids), n_months)


def read_attacks(
    events_path: Path, targets: Sequence[str] = US_TARGET_NAMES
) -> tuple[np.ndarray, np.ndarray]:
    """Return (runs, days) of the attacks on ``targets`` in an ``events.parquet``.

    Only four columns of attack rows are read (a pyarrow filter), so memory stays small.
    """
    tab = pq.read_table(
        events_path, columns=["run", "day", "kind", "target"], filters=[("kind", "=", "attack")]
    )
    tgt = tab.column("target").cast(pa.string())
    keep = pc.fill_null(pc.is_in(tgt, value_set=pa.array(list(targets), type=pa.string())), False)
    tab = tab.filter(keep)
    return (
        tab.column("run").to_numpy().astype(np.int64),
        tab.column("day").to_numpy().astype(np.int64),
    )


DOCUMENTED_COLUMNS = ("date", "kind", "actor", "subject", "detail")
#: the event kind an inject kind logs (others log their own name; regional_war logs nothing)
INJECT_EVENT_KIND = {"truce": "truce_start"}


def read_documented(events_path: Path, run: int) -> pd.DataFrame:
    """Return the forced events of one replicate: date, kind, actor, subject, detail."""
    tab = pq.read_table(
        events_path,
        columns=["run", *DOCUMENTED_COLUMNS, "forced"],
        filters=[("forced", "=", True), ("run", "=", int(run))],
    )
    df = pd.DataFrame({c: tab.column(c).to_pylist() for c in DOCUMENTED_COLUMNS})
    if len(df):
        df["date"] = pd.to_datetime(df["date"])
    return df


def inject_labels(
    manifest: dict, scenario: Scenario | None = None
) -> list[tuple[pd.Timestamp, str, str | None, str, bool]]:
    """Return (date, event kind, faction, label, own) of the injects of a run's scenario.

    ``own`` is True for the policy's own injects (``policy.injects``: hypothetical events, not
    documented ones).

    The scenario is ``scenario`` if given (the one the run was made from, e.g. still in
    memory), else rebuilt from the files recorded in the manifest (``sim.replay``), so the
    labels are those of the run, policy injects included; a manifest that cannot be rebuilt
    gives no labels (figures then name events by kind).
    """
    import tempfile

    from sim.replay import ReplayError, rebuild_scenario
    from sim.scenario import ScenarioError

    sc = scenario
    if sc is None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                sc = rebuild_scenario(manifest, Path(tmp)).scenario
        except (ReplayError, ScenarioError, KeyError, TypeError, OSError):
            return []  # a manifest without its scenario files: figures fall back to the kinds
    own = list(sc.policy.injects) if sc.policy is not None else []
    return [
        (pd.Timestamp(i.date), INJECT_EVENT_KIND.get(i.kind, i.kind), i.faction, i.label or "", k)
        for injects, k in ((sc.injects, False), (own, True))
        for i in injects
    ]


def label_documented(
    documented: pd.DataFrame, manifest: dict, scenario: Scenario | None = None
) -> pd.DataFrame:
    """Add the columns ``label`` (the forcing inject's label, "" if none) and ``own``.

    An event matches an inject of its date and kind; where several injects of one kind share a
    date, the one naming the event's faction (its subject, or its actor for a truce). ``own`` is
    True for an event the policy itself forces (``policy.injects``), False for the documented
    calendar.
    """
    out = documented.copy()
    out["label"] = ""
    out["own"] = False
    labels = inject_labels(manifest, scenario) if len(out) else []
    for k, r in enumerate(out.itertuples(index=False)):
        same = [x for x in labels if x[0] == r.date and x[1] == r.kind]
        named = [x for x in same if x[2] is not None and x[2] in (r.subject, r.actor)]
        pick = named or [x for x in same if x[2] is None] or same
        if pick:
            out.iloc[k, out.columns.get_loc("label")] = pick[0][3]
            out.iloc[k, out.columns.get_loc("own")] = pick[0][4]
    return out


def load_run(path: Path, name: str | None = None, scenario: Scenario | None = None) -> RunData:
    """Read one results directory (manifest, runs, attacks by month, documented events).

    Parameters
    ----------
    path : Path
        A directory written by ``escsim run`` (or a scenario directory of ``escsim compare``).
    name : str, optional
        Display name (default: the scenario name in the manifest).
    scenario : Scenario, optional
        The scenario the directory was run from, if at hand: its injects label the documented
        events (default: rebuilt from the manifest, ``inject_labels``).

    Returns
    -------
    RunData
        The data the figures use.

    Raises
    ------
    FileNotFoundError
        If the manifest, runs or events file is missing.
    """
    path = Path(path)
    manifest = json.loads((path / "manifest.json").read_text())
    start = pd.Timestamp(manifest["start"])
    end = pd.Timestamp(manifest["end"])
    run_ids = np.sort(
        pq.read_table(path / "runs.parquet", columns=["run"])
        .column("run")
        .to_numpy()
        .astype(np.int64)
    )
    runs, days = read_attacks(path / "events.parquet")
    n_days = (end - start).days + 1
    monthly = monthly_counts(days, runs, run_ids, start, n_days)
    policy = manifest.get("policy_start")
    return RunData(
        name=name or manifest["scenario"]["name"],
        path=path,
        manifest=manifest,
        start=start,
        end=end,
        outcome_from=pd.Timestamp(manifest["outcome_from"]),
        policy_start=pd.Timestamp(policy) if policy else None,
        runs=run_ids,
        months=month_starts(start, end),
        monthly=monthly,
        documented=label_documented(
            read_documented(path / "events.parquet", int(run_ids[0]))
            if len(run_ids)
            else pd.DataFrame(columns=list(DOCUMENTED_COLUMNS)),
            manifest,
            scenario,
        ),
    )


COMPARABLE_WEAPONS = ("rocket", "ied")
"""Weapons a tally must count to be drawn on the chart of all attacks on US targets (drones are
used from April 2021 only, after every tally's window)."""


def load_tallies_for(run: RunData) -> pd.DataFrame:
    """Return the observed attack tallies on US targets that a run's replayed history covers.

    A tally is kept if it counts attacks (not deaths) on every US target, with rockets and IEDs
    (``COMPARABLE_WEAPONS``; a rockets-only or convoy-only tally counts a subset of the charted
    series and drawn on it would read as "the model overshoots"), and its window lies inside
    the run's horizon and, for a policy scenario, ends before the policy start (after it the run
    is a counterfactual, not a replay). Empty if the observed data cannot be read.
    """
    try:
        from sim.analysis.observed import load_tallies

        t = load_tallies()
    except (ImportError, OSError, ValueError):
        return pd.DataFrame()
    last = run.end if run.policy_start is None else run.policy_start - pd.Timedelta(days=1)
    keep = (
        (t["measure"] == "attacks")
        & t["targets"].map(lambda ts: set(ts) == set(US_TARGET_NAMES))
        & t["weapons"].map(lambda ws: set(ws) >= set(COMPARABLE_WEAPONS))
        & (t["start"] >= run.start)
        & (t["end"] <= last)
    )
    return t[keep].reset_index(drop=True)


def is_run_dir(path: Path) -> bool:
    """Return True if ``path`` holds the results of one run (a manifest and runs)."""
    return (Path(path) / "manifest.json").exists() and (Path(path) / "runs.parquet").exists()
