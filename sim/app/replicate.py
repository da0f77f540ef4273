"""The One replicate tab's model: the Mesa engine stepped day by day, its series and its story.

``ReplicateModel`` is ``sim.engines.mesa.model.EscalationModel`` (the same rules and draws as the
kernel: replicate k here is replicate k of the Compare tab) with a Mesa ``DataCollector`` and a
``running`` flag that stops it at the end of the horizon, so Mesa's ``SolaraViz`` can play,
pause and step it.

The DataCollector's series are those the Mesa engine is getting its own DataCollector for
(model reporters ``attacks_us``, ``attacks_state``, ``us_strikes``, ``arrests``,
``truce_active``, ``directives_escalate``; agent reporter ``grievance``). Until the engine
carries it, ``event_datacollector`` builds the same collector from the model's event records:
it is the one adapter, and ``ReplicateModel`` uses the engine's own collector as soon as the
model has one (nothing else changes; then delete ``event_datacollector``).
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from sim import vocab as V
from sim.analysis.explain import Explanation, describe_day, explain_events
from sim.engines.mesa.agents import Militia
from sim.engines.mesa.model import EscalationModel
from sim.model import layout as L
from sim.model.world import World
from sim.results.events import records_to_table, to_frame

MODEL_SERIES = (
    "attacks_us",
    "attacks_state",
    "us_strikes",
    "arrests",
    "truce_active",
    "directives_escalate",
)
"""Model reporters of the DataCollector: daily counts, then truce state and escalate count."""

STATE_TARGETS = (V.T_STATE, V.T_PM, V.T_ACTIVIST)


def todays_events(model: EscalationModel) -> list[tuple[int, ...]]:
    """Return the event records the model wrote on its current day."""
    out = []
    for ev in reversed(model.events):
        if ev[L.E_DAY] != model.day:
            break
        out.append(ev)
    return out


def _count(model: EscalationModel, kind: int, targets: tuple[int, ...] | None = None) -> int:
    return sum(
        1
        for ev in todays_events(model)
        if ev[L.E_KIND] == kind and (targets is None or ev[L.E_TARGET] in targets)
    )


def event_datacollector() -> mesa.DataCollector:
    """Return a DataCollector of the page's series, counted from the model's event records.

    Daily counts (``attacks_us``: attacks on US bases, the embassy and convoys; ``attacks_state``:
    on the Iraqi state, the PM and activists; ``us_strikes``; ``arrests``) come from the event
    records of the day; ``truce_active`` (1 if any faction is under a truce) and
    ``directives_escalate`` (agencies whose directive is escalate) from the model's state;
    ``grievance`` per faction is grievance against the US plus against the state (what drives
    the attack intensity, ``sim.model.rules.attack_intensity``).
    """
    return mesa.DataCollector(
        model_reporters={
            "attacks_us": lambda m: _count(m, V.K_ATTACK, V.US_TARGETS),
            "attacks_state": lambda m: _count(m, V.K_ATTACK, STATE_TARGETS),
            "us_strikes": lambda m: _count(m, V.K_US_STRIKE),
            "arrests": lambda m: _count(m, V.K_ARREST),
            "truce_active": lambda m: m.truce_active(),
            "directives_escalate": lambda m: sum(int(a.directive == 1) for a in m.agencies),
        },
        agenttype_reporters={Militia: {"grievance": lambda a: a.grievance_us + a.grievance_state}},
    )


class ReplicateModel(EscalationModel):
    """One replicate of the Mesa engine with a DataCollector, stopping at the horizon's end.

    Parameters
    ----------
    world : World
        The compiled scenario.
    rep : int
        Replicate index (the same draws as replicate ``rep`` of a kernel run).
    """

    def __init__(self, world: World, rep: int = 0) -> None:
        super().__init__(world, rep)
        self.own_collector = getattr(self, "datacollector", None) is None
        if self.own_collector:
            self.datacollector = event_datacollector()
        self.running = world.n_days > 0

    def step(self) -> None:
        """Advance one day (no-op past the horizon) and collect the day's series."""
        if not self.running:
            return
        super().step()
        if self.own_collector:
            self.datacollector.collect(self)
        self.running = self.day < self.world.n_days - 1

    @property
    def date(self) -> pd.Timestamp | None:
        """The date of the last simulated day (None before the first step)."""
        return day_date(self.world, self.day) if self.day >= 0 else None


def day_date(world: World, day: int) -> pd.Timestamp:
    """Return the calendar date of a day index."""
    return pd.Timestamp(world.start) + pd.Timedelta(days=int(day))


def model_series(model: EscalationModel) -> pd.DataFrame:
    """Return the model reporters collected so far, one row per day, indexed by date."""
    df = model.datacollector.get_model_vars_dataframe()
    df = df.tail(model.day + 1) if model.day >= 0 else df.iloc[0:0]
    df.index = pd.DatetimeIndex([day_date(model.world, d) for d in range(len(df))], name="date")
    return df


def faction_grievance(model: EscalationModel) -> pd.DataFrame:
    """Return each faction's grievance per day (columns: faction names), indexed by date."""
    if model.day < 0:
        return pd.DataFrame()
    dc = model.datacollector
    if Militia in getattr(dc, "agenttype_reporters", {}):
        df = dc.get_agenttype_vars_dataframe(Militia)
    else:
        df = dc.get_agent_vars_dataframe()
    if len(df) == 0:
        return pd.DataFrame()
    wide = df["grievance"].dropna().unstack()
    ids = {a.unique_id: a.index for a in model.militias}
    wide = wide[[c for c in wide.columns if c in ids]]
    wide.columns = [model.world.faction_names[ids[c]] for c in wide.columns]
    wide = wide.tail(model.day + 1)
    wide.index = pd.DatetimeIndex([day_date(model.world, d) for d in range(len(wide))])
    return wide


def event_log(model: EscalationModel) -> pd.DataFrame:
    """Return the replicate's events so far as an event-log frame (``sim.results.events``)."""
    rec = np.array(model.events, dtype=np.int32).reshape(-1, L.N_ECOLS)
    reps = np.full(len(rec), model.rep, dtype=np.int64)
    return to_frame(records_to_table(model.world, rec, reps))


def agency_directives(events: pd.DataFrame, model: EscalationModel) -> pd.DataFrame:
    """Return each agency's directive per day (1 escalate, 0 calm) from the directive events."""
    days = pd.date_range(day_date(model.world, 0), periods=max(model.day + 1, 0), freq="D")
    out = pd.DataFrame(0.0, index=days, columns=list(V.AGENCIES))
    d = events[events["kind"] == "directive"].sort_values("date", kind="stable")
    for name in V.AGENCIES:
        rows = d[d["actor"] == name]
        if len(rows):
            stance = pd.Series(
                (rows["detail"] == "escalate").astype(float).to_numpy(), index=rows["date"]
            )
            stance = stance[~stance.index.duplicated(keep="last")]
            out[name] = stance.reindex(days).ffill().fillna(0.0).to_numpy()
    return out


def event_feed(events: pd.DataFrame, last: int = 40) -> list[tuple[str, str, str]]:
    """Return the latest events in words: (date as '14 Jun 2020', kind, text), newest first.

    The text of each day is ``sim.analysis.explain.describe_day``'s, as in ``escsim explain``.
    """
    lines: list[tuple[str, str, str]] = []
    for date, day in sorted(events.groupby("date", sort=True), key=lambda x: x[0], reverse=True):
        for kind, text in describe_day(day):
            lines.append((f"{pd.Timestamp(date):%d %b %Y}", kind, text))
        if len(lines) >= last:
            break
    return lines[:last]


def explain_so_far(model: EscalationModel, events: pd.DataFrame) -> Explanation | None:
    """Explain the largest escalation of the replicate's outcome window simulated so far.

    Returns None before the outcome window starts (nothing to search yet).
    """
    start = day_date(model.world, model.world.outcome_day)
    if model.day < 0 or model.date < start:
        return None
    return explain_events(events, model.rep, start, model.date)
