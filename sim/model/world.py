"""Compile a validated ``Scenario`` into the arrays both engines read (dates become days)."""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from sim import vocab as V
from sim.model import layout as L
from sim.model import state as S
from sim.scenario import Scenario
from sim.scenario.schema import Faction, FactionLever

# inject matrix columns
J_DAY, J_KIND, J_SUBJECT, J_STRIKE, J_KILLED, J_DAYS, J_COMPLIANCE, J_CRACKDOWN = range(8)
# a forced attack: weapon and target codes, and the claiming front's index (-1: unclaimed)
J_WEAPON, J_TARGET, J_CLAIM = 8, 9, 10
N_JCOLS = 11


@dataclass(frozen=True)
class World:
    """Arrays of one scenario: parameters before/after the policy date, roster, injects."""

    start: dt.date
    n_days: int
    seed: int
    faction_names: tuple[str, ...]
    front_names: tuple[tuple[str, ...], ...]
    g_before: np.ndarray  # (N_G,)
    g_after: np.ndarray  # (N_G,)
    switch_day: int  # first day g_after applies (n_days if no policy)
    fp: np.ndarray  # (F, N_FP)
    control: np.ndarray  # (N_AGENCIES, F)
    ap: np.ndarray  # (N_AGENCIES, N_AP)
    injects: np.ndarray  # (J, N_JCOLS), sorted by day (stable)
    negotiation_days: np.ndarray  # (K,) float
    outcome_day: int

    @property
    def n_factions(self) -> int:
        """Number of militia factions."""
        return len(self.faction_names)

    def actor_names(self) -> list[str]:
        """Return the name of every actor code (factions, agencies, US, PM)."""
        return list(self.faction_names) + list(V.AGENCIES) + ["US", "PM"]


def _field(model: BaseModel, path: str) -> tuple[Any, Any]:
    """Return (value, annotation) of the field at a dotted ``path`` of ``model``."""
    *parents, leaf = path.split(".")
    for name in parents:
        model = getattr(model, name)
    return getattr(model, leaf), type(model).model_fields[leaf].annotation


def _code(value: Any, annotation: Any, start: dt.date) -> float:
    """Return the number a parameter value stands for in an array (see ``sim.model.layout``).

    Booleans are 0/1, a choice is its position in the schema's ``Literal``, a date is days since
    ``start`` (-1 if absent), a tuple of names is its length.
    """
    if value is None:
        return -1.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        members = (annotation, *typing.get_args(annotation))
        (choice,) = [a for a in members if typing.get_origin(a) is Literal]
        return float(typing.get_args(choice).index(value))
    if isinstance(value, dt.date):
        return float((value - start).days)
    if isinstance(value, tuple):
        return float(len(value))
    return float(value)


def _global_vector(sections: dict[str, BaseModel], start: dt.date) -> np.ndarray:
    """Return G: every path of ``sim.model.layout.G_PATHS`` read from its section's model."""
    g = np.zeros(L.N_G)
    for i, path in enumerate(L.G_PATHS):
        section, rest = path.split(".", 1)
        g[i] = _code(*_field(sections[section], rest), start)
    return g


def _faction_row(f: Faction, start: dt.date) -> np.ndarray:
    """Return a faction's row of FP: every path of ``sim.model.layout.FP_PATHS``."""
    row = np.array([_code(*_field(f, path), start) for path in L.FP_PATHS], dtype=np.float64)
    # a stock above its cap is clipped on the first resupply; clip it here too
    for w in V.WEAPONS:
        i, m = L.faction_path_index("stocks." + w), L.faction_path_index("max_stock." + w)
        row[i] = min(row[i], row[m])
    return row


def faction_lever_values(lever: FactionLever | None) -> list[tuple[int, float]]:
    """Return the (state column, value) pairs a policy's lever on one faction sets at its start.

    ``None`` (the faction stands down) sets its base rate to 0 (ODD 6.3).
    """
    if lever is None:
        return [(S.FS_BASE_RATE, 0.0)]
    out = []
    for field, column in (
        ("base_rate", S.FS_BASE_RATE),
        ("discipline", S.FS_DISCIPLINE),
        ("grievance_us", S.FS_GRIEVANCE_US),
        ("grievance_state", S.FS_GRIEVANCE_STATE),
    ):
        value = getattr(lever, field)
        if value is not None:
            out.append((column, float(value)))
    if lever.stocks is not None:
        for w, weapon in enumerate(V.WEAPONS):
            value = getattr(lever.stocks, weapon)
            if value is not None:
                out.append((S.FS_STOCK_ROCKET + w, float(value)))
    return out


def compile_world(sc: Scenario) -> World:
    """Compile a scenario into a ``World`` of arrays.

    Parameters
    ----------
    sc : Scenario
        A validated scenario.

    Returns
    -------
    World
        Arrays for the engines.
    """
    names = tuple(f.name for f in sc.factions)
    index = {n: i for i, n in enumerate(names)}
    g_before = _global_vector({s: getattr(sc, s) for s, _, _ in L.GLOBAL_SECTIONS}, sc.start)
    switch_day = sc.n_days
    drop: tuple[str, ...] = ()
    g_after = g_before.copy()
    if sc.policy is not None:
        pol = sc.policy
        switch_day = (pol.start - sc.start).days
        drop = pol.drop_injects

        def merged(model, base, over):
            return model.model_validate({**base.model_dump(), **over})

        g_after = _global_vector(
            {
                s: merged(model, getattr(sc, s), getattr(pol, s))
                for s, _, model in L.GLOBAL_SECTIONS
            },
            sc.start,
        )
    nf = len(names)
    fp = np.zeros((nf, L.N_FP))
    for i, f in enumerate(sc.factions):
        fp[i] = _faction_row(f, sc.start)
    control = np.zeros((V.N_AGENCIES, nf))
    ap = np.zeros((V.N_AGENCIES, L.N_AP))
    for a in sc.iran.agencies:
        k = V.AGENCIES.index(a.name)
        ap[k, L.A_HAWKISHNESS] = a.hawkishness
        ap[k, L.A_VOICE] = a.voice
        for fname, strength in a.control.items():
            control[k, index[fname]] = strength
    rows = []
    if sc.policy is not None and ("crackdown" in sc.policy.pm or "legitimacy" in sc.policy.pm):
        # the policy sets the PM's state at its start (first row of that day after sorting);
        # the row carries legitimacy in J_COMPLIANCE and crackdown in J_CRACKDOWN (-1 = unchanged)
        rows.append(
            [
                switch_day,
                V.I_PM_POLICY,
                -1,
                0,
                0,
                0,
                float(sc.policy.pm.get("legitimacy", -1.0)),
                float(sc.policy.pm.get("crackdown", -1.0)),
                -1,
                -1,
                -1,
            ]
        )
    levers = sc.policy.factions if sc.policy is not None else {}
    for fname, lever in levers.items():
        # one row per state variable the policy sets (J_STRIKE: the fs column, J_COMPLIANCE: the
        # value), after the PM's row and before that day's injects
        for column, value in faction_lever_values(lever):
            row = [switch_day, V.I_FACTION_POLICY, index[fname], column, 0, 0, value, -1]
            rows.append(row + [-1, -1, -1])
    policy_injects = sc.policy.injects if sc.policy is not None else ()
    fronts = {f.name: list(f.fronts) for f in sc.factions}
    for k, inj in enumerate(sc.injects + policy_injects):
        day = (inj.date - sc.start).days
        if k < len(sc.injects) and inj.kind in drop and day >= switch_day:
            continue  # the policy's own injects are never dropped
        rows.append(
            [
                day,
                V.INJECT_CODES[inj.kind],
                index[inj.faction] if inj.faction is not None else -1,
                V.STRIKE_TYPES.index(inj.strike),
                inj.killed,
                inj.days,
                inj.compliance if inj.compliance is not None else -1.0,
                inj.crackdown,
                V.WEAPONS.index(inj.weapon) if inj.weapon is not None else -1,
                V.TARGETS.index(inj.target) if inj.target is not None else -1,
                fronts[inj.faction].index(inj.claim) if inj.claim is not None else -1,
            ]
        )
    injects = np.array(rows, dtype=np.float64).reshape(-1, N_JCOLS)
    order = np.argsort(injects[:, J_DAY], kind="stable")
    injects = np.ascontiguousarray(injects[order])
    neg = injects[injects[:, J_KIND] == V.I_NEGOTIATION, J_DAY].astype(np.float64)
    return World(
        start=sc.start,
        n_days=sc.n_days,
        seed=sc.seed,
        faction_names=names,
        front_names=tuple(tuple(f.fronts) for f in sc.factions),
        g_before=g_before,
        g_after=g_after,
        switch_day=switch_day,
        fp=fp,
        control=control,
        ap=ap,
        injects=injects,
        negotiation_days=np.ascontiguousarray(neg),
        outcome_day=(sc.outcome_from - sc.start).days,
    )
