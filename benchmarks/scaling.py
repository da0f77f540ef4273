"""Synthetic scenarios for the scaling table, built from the historical scenario in code.

Each synthetic scenario is written out as YAML text and read back through
``sim.scenario.parse_scenario``, so it passes the same validation as a user's file.

* ``with_horizon``: the historical roster and parameters over 1, 2 or 5 years from the historical
  start; injects dated after the new end are dropped.
* ``with_factions``: the historical roster cloned to N factions with distinct names (and distinct
  front names); each agency controls every clone of a faction it controlled, with the same
  strength, so control spreads over the larger roster; injects keep naming the originals.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import yaml

from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.model.world import World, compile_world
from sim.scenario import Scenario, parse_scenario


def _to_yaml(data: dict) -> str:
    """Return YAML text for a JSON-compatible scenario mapping."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _base(sc: Scenario) -> dict:
    """Return the scenario as a plain mapping (the ``calibration`` link is already applied)."""
    return sc.model_dump(mode="json", exclude_none=True)


def with_horizon(sc: Scenario, years: int) -> Scenario:
    """Return ``sc`` over ``years`` years from its start (injects after the end dropped).

    Parameters
    ----------
    sc : Scenario
        The scenario to stretch or cut (usually the historical one).
    years : int
        Horizon in years (>= 1).

    Returns
    -------
    Scenario
        A validated scenario ending the day before the ``years``-th anniversary of the start.
    """
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    start = sc.start
    end = start.replace(year=start.year + years) - dt.timedelta(days=1)
    data = _base(sc)
    data["name"] = f"{sc.name}-{years}y"
    data["end"] = end.isoformat()
    data["injects"] = [i for i in data.get("injects", []) if i["date"] <= end.isoformat()]
    data.pop("policy", None)
    data.pop("outcome_start", None)
    return parse_scenario(_to_yaml(data), f"<{data['name']}>")


def with_factions(sc: Scenario, n: int) -> Scenario:
    """Return ``sc`` with its roster cloned to ``n`` factions (distinct names).

    Clone k of faction ``X`` is named ``X`` for k = 0 and ``X#k`` otherwise (fronts likewise);
    clones are taken round-robin over the roster. An agency controlling ``X`` with strength s
    controls every clone of ``X`` with strength s.

    Parameters
    ----------
    sc : Scenario
        The scenario whose roster is cloned (it needs at least one faction).
    n : int
        Number of factions wanted (>= 1).

    Returns
    -------
    Scenario
        A validated scenario with ``n`` factions.
    """
    base = list(sc.factions)
    if not base:
        raise ValueError("the scenario has no faction to clone")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    data = _base(sc)
    roster = []
    clones: dict[str, list[str]] = {f.name: [] for f in base}
    for j in range(n):
        src = base[j % len(base)]
        k = j // len(base)
        row = src.model_dump(mode="json", exclude_none=False)
        if k > 0:
            row["name"] = f"{src.name}#{k}"
            row["fronts"] = [f"{front}#{k}" for front in src.fronts]
        clones[src.name].append(row["name"])
        roster.append(row)
    data["name"] = f"{sc.name}-{n}f"
    data["factions"] = roster
    for agency in data.get("iran", {}).get("agencies", []):
        control = {}
        for fname, strength in agency.get("control", {}).items():
            for clone in clones.get(fname, []):
                control[clone] = strength
        agency["control"] = control
    kept = {name for names in clones.values() for name in names}
    data["injects"] = [
        i for i in data.get("injects", []) if i.get("faction") is None or i["faction"] in kept
    ]
    return parse_scenario(_to_yaml(data), f"<{data['name']}>")


def n_agents(world: World) -> int:
    """Return the agents of a world: factions, the four agencies, the US and the PM."""
    return world.n_factions + V.N_AGENCIES + 2


def time_kernel(
    world: World, n_reps: int, chunk: int = 10_000, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, int]:
    """Run ``n_reps`` kernel replicates in chunks; return (wall seconds, events produced).

    Chunks of at most ``chunk`` replicates keep memory flat, as the runner does.
    """
    events = 0
    t0 = clock()
    for start in range(0, n_reps, chunk):
        records, _ = run_kernel(world, start, min(chunk, n_reps - start))
        events += records.shape[0]
    return clock() - t0, events


def scaling_row(axis: str, value: int, world: World, n_reps: int) -> dict:
    """Time one point of the scaling table and return its row."""
    secs, events = time_kernel(world, n_reps)
    agent_days = n_reps * world.n_days * n_agents(world)
    return {
        "axis": axis,
        "value": value,
        "replicates": n_reps,
        "days": world.n_days,
        "factions": world.n_factions,
        "agents": n_agents(world),
        "seconds": secs,
        "seconds_per_replicate": secs / n_reps,
        "ns_per_agent_day": secs * 1e9 / agent_days,
        "events_per_replicate": events / n_reps,
    }


def scaling_table(
    sc: Scenario,
    reps: tuple[int, ...],
    years: tuple[int, ...],
    factions: tuple[int, ...],
    horizon_reps: int,
    faction_reps: int,
) -> list[dict]:
    """Return the scaling rows: replicates, horizon and factions, each varied alone.

    Parameters
    ----------
    sc : Scenario
        The historical scenario (the base of every synthetic one).
    reps : tuple of int
        Replicate counts run on ``sc`` itself.
    years : tuple of int
        Horizons, each run with ``horizon_reps`` replicates.
    factions : tuple of int
        Roster sizes, each run with ``faction_reps`` replicates over the historical horizon.
    horizon_reps, faction_reps : int
        Replicates per horizon and per roster size.

    Returns
    -------
    list of dict
        One row per point (see ``scaling_row``).
    """
    rows = []
    world = compile_world(sc)
    run_kernel(world, 0, 2)  # load the compiled kernel before timing
    for n in reps:
        rows.append(scaling_row("replicates", n, world, n))
    for y in years:
        rows.append(scaling_row("years", y, compile_world(with_horizon(sc, y)), horizon_reps))
    for nf in factions:
        w = compile_world(with_factions(sc, nf))
        run_kernel(w, 0, 2)  # a new roster size needs no recompile; warm its memory anyway
        rows.append(scaling_row("factions", nf, w, faction_reps))
    return rows
