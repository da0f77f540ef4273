"""Array layout of the model: parameter vectors, decision codes and event-record columns.

Both engines read a scenario as arrays (``sim.model.world``): the global parameter vector G, the
per-faction parameter matrix FP and the agency matrix AP, indexed by the constants below; every
random draw is keyed by a decision code R_*; every event is a row of E_* columns.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel

from sim.scenario.schema import Faction, IranParams, MilitiaParams, PMParams, TruceParams, USParams

# --- decision codes (the fifth coordinate of every random draw) --------------------------------
R_NOISE = 1
R_ATTACK = 2
R_TARGET = 3
R_WEAPON = 4
R_CLAIM = 5
R_INTERCEPT = 6
R_KILL = 7
R_KILL_COUNT = 8
R_US_VICTIM = 9
R_ATTRIBUTE = 10
R_STRIKE = 11
R_STRIKE_KILLED = 12
R_REDRAW = 13
R_DIRECTIVE = 14
R_ARREST = 15
R_RELEASE = 16
R_MEDIATE = 17
R_COMPLY = 18
R_BREAKDOWN = 19
R_EVIDENCE = 20

# --- parameter vectors, derived from the schema ------------------------------------------------
# The pydantic schema (``sim.scenario.schema``) is the catalogue of parameters. The global vector G
# holds every parameter of the sections below, in this order and, within a section, in the order
# the schema declares its fields (nested models such as ``militia.lethality`` are walked in place).
# The per-faction matrix FP holds every parameter of ``Faction`` the same way. A field is a
# parameter if it is a number, a boolean, a choice (``Literal``: its code is its position), a date
# (days since the scenario start; -1 if absent) or a tuple of names (its length); names, lists of
# agencies and maps are compiled elsewhere (``sim.model.world``).
GLOBAL_SECTIONS: tuple[tuple[str, str, type[BaseModel]], ...] = (
    # (section of the scenario, prefix of the short name, schema model)
    ("us", "us", USParams),
    ("militia", "m", MilitiaParams),
    ("iran", "ir", IranParams),
    ("pm", "pm", PMParams),
    ("truce", "truce", TruceParams),
)
SHORT_NAMES = {
    # schema path -> its part of the short name, where the two differ (all others: the same)
    "pm.legitimacy": "legitimacy0",
    "stocks": "stock",
    "max_stock": "max",
    "weapons": "weapon",
    "targets": "target",
    "fronts": "n_fronts",
    "drones_from": "drones_from_day",
    "grievance_us": "grievance_us0",
    "grievance_state": "grievance_state0",
}


def _is_parameter(annotation: Any) -> bool:
    """Return whether a schema field of this annotation is an entry of a parameter vector."""
    kinds = (
        set(typing.get_args(annotation)) - {type(None)} if _is_union(annotation) else {annotation}
    )
    if len(kinds) != 1:
        return False
    (kind,) = kinds
    if kind in (float, int, bool, dt.date) or typing.get_origin(kind) is Literal:
        return True
    return typing.get_origin(kind) is tuple and typing.get_args(kind) == (str, ...)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def schema_paths(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """Return the dotted schema path of every parameter of ``model``, in declaration order.

    Parameters
    ----------
    model : type of pydantic.BaseModel
        A schema model (e.g. ``USParams``, ``Faction``).
    prefix : str
        Prepended to every path (e.g. ``"us."``).

    Returns
    -------
    tuple of str
        Paths such as ``"us.strike_rate"`` or ``"militia.lethality.rocket"``.
    """
    out: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += schema_paths(ann, f"{prefix}{name}.")
        elif _is_parameter(ann):
            out.append(prefix + name)
    return tuple(out)


def short_name(path: str, section_prefix: str = "") -> str:
    """Return the short name of a parameter path (``"militia.noise"`` -> ``"m_noise"``).

    The short name is the stem of the index constant (``G_`` or ``F_`` + its upper case) and the
    key of ``G_INDEX``/``FP_INDEX``; each part of the path is replaced by its ``SHORT_NAMES``
    entry, if any.
    """
    parts = path.split(".")
    words = [section_prefix] if section_prefix else []
    start = 1 if section_prefix else 0
    for k in range(start, len(parts)):
        words.append(SHORT_NAMES.get(".".join(parts[: k + 1]), parts[k]))
    return "_".join(words)


def _global_layout() -> tuple[tuple[str, ...], tuple[str, ...]]:
    paths, names = [], []
    for section, pre, model in GLOBAL_SECTIONS:
        for p in schema_paths(model, section + "."):
            paths.append(p)
            names.append(short_name(p, pre))
    return tuple(paths), tuple(names)


# --- global parameter vector G --------------------------------------------------------------------
G_PATHS, G_NAMES = _global_layout()
"""Schema path and short name of every entry of G (``G_PATHS[i]`` <-> ``G_NAMES[i]``)."""
N_G = len(G_PATHS)
G_INDEX = {name: i for i, name in enumerate(G_NAMES)}
"""Short name -> index (``"us_strike_rate"``; the ``"g:<name>"`` targets of calibration)."""
G_PATH_INDEX = {path: i for i, path in enumerate(G_PATHS)}
"""Schema path -> index (``"us.strike_rate"``)."""


def parameter_path_index(path: str) -> int:
    """Return the index in G of a global parameter given by its schema path.

    Parameters
    ----------
    path : str
        Dotted schema path, e.g. ``"militia.beta_deterrence"`` or ``"militia.lethality.drone"``.

    Returns
    -------
    int
        The index in the global vector G.

    Raises
    ------
    KeyError
        If ``path`` is not a global parameter (the message lists the sections).
    """
    try:
        return G_PATH_INDEX[path]
    except KeyError:
        sections = ", ".join(s for s, _, _ in GLOBAL_SECTIONS)
        raise KeyError(
            f"{path!r} is not a global parameter (a schema path under {sections}, "
            "e.g. 'militia.beta_deterrence')"
        ) from None


def parameter_path(index: int) -> str:
    """Return the schema path of entry ``index`` of G (the inverse of ``parameter_path_index``)."""
    if not 0 <= index < N_G:
        raise IndexError(f"G has {N_G} entries; {index} is out of range")
    return G_PATHS[index]


_G = parameter_path_index
# one greppable index constant per entry: G_ + the short name in upper case (a test checks that
# every entry has exactly one and that its name is its path's short name)
G_US_DOCTRINE = _G("us.doctrine")
G_US_ATTRIBUTION = _G("us.attribution")
G_US_ATTRIBUTION_FRONT = _G("us.attribution_front")
G_US_STRIKE_RATE = _G("us.strike_rate")
G_US_RED_LINE = _G("us.red_line")
G_US_RED_LINE_STRIKE = _G("us.red_line_strike")
G_US_COOLDOWN_DAYS = _G("us.cooldown_days")
G_US_AIR_DEFENCE_ROCKET = _G("us.air_defence_rocket")
G_US_AIR_DEFENCE_DRONE = _G("us.air_defence_drone")
G_US_POSTURE = _G("us.posture")
G_US_DEGRADE_INFRASTRUCTURE = _G("us.degrade_infrastructure")
G_US_DEGRADE_LEADERSHIP = _G("us.degrade_leadership")
G_US_LEADERSHIP_DISCIPLINE_HIT = _G("us.leadership_discipline_hit")
G_US_STRIKE_GRIEVANCE = _G("us.strike_grievance")
G_US_STRIKE_GRIEVANCE_ALLIES = _G("us.strike_grievance_allies")
G_US_CREDIBILITY_JUMP = _G("us.credibility_jump")
G_US_CREDIBILITY_TAU = _G("us.credibility_tau")
G_US_THREAT_DETERRENCE = _G("us.threat_deterrence")
G_US_VICTIM_SHARE = _G("us.victim_share")
G_US_BLAME_TAU = _G("us.blame_tau")
G_M_BETA_GRIEVANCE = _G("militia.beta_grievance")
G_M_BETA_DIRECTIVE = _G("militia.beta_directive")
G_M_BETA_DETERRENCE = _G("militia.beta_deterrence")
G_M_EXCITATION_JUMP = _G("militia.excitation_jump")
G_M_EXCITATION_TAU = _G("militia.excitation_tau")
G_M_GRIEVANCE_TAU = _G("militia.grievance_tau")
G_M_NOISE = _G("militia.noise")
G_M_LETHALITY_ROCKET = _G("militia.lethality.rocket")
G_M_LETHALITY_IED = _G("militia.lethality.ied")
G_M_LETHALITY_DRONE = _G("militia.lethality.drone")
G_M_LETHALITY_SMALL_ARMS = _G("militia.lethality.small_arms")
G_M_STATE_TARGETING = _G("militia.state_targeting")
G_M_DENIABILITY = _G("militia.deniability")
G_M_EXPOSURE_TAU = _G("militia.exposure_tau")
G_M_FRONT_SHIFT = _G("militia.front_shift")
G_M_HIATUS = _G("militia.hiatus")
G_M_PM_BEFORE_ELECTION = _G("militia.pm_before_election")
G_M_STATE_TURN = _G("militia.state_turn")
G_IR_UNIFIED = _G("iran.unified")
G_IR_QF_CONTROL_AFTER = _G("iran.qf_control_after")
G_IR_FRAGMENTATION_NOISE = _G("iran.fragmentation_noise")
G_IR_APPETITE = _G("iran.appetite")
G_IR_APPETITE_LEAD_DAYS = _G("iran.appetite_lead_days")
G_IR_DIRECTIVE_DAYS = _G("iran.directive_days")
G_IR_REVENGE = _G("iran.revenge")
G_IR_REVENGE_TAU = _G("iran.revenge_tau")
G_IR_TRUCE_CALM = _G("iran.truce_calm")
G_IR_DOMINANCE = _G("iran.dominance")
G_IR_COORDINATION = _G("iran.coordination")
G_IR_EVENT_RECONSIDER = _G("iran.event_reconsider")
G_IR_EVENT_LAG_DAYS = _G("iran.event_lag_days")
G_IR_SOLEIMANI_EXCLUSIVE = _G("iran.soleimani_exclusive")
G_IR_TAKEOVER_DAYS = _G("iran.takeover_days")
G_IR_RESTRAINT = _G("iran.restraint")
G_IR_RESTRAINT_TAU = _G("iran.restraint_tau")
G_IR_RESTRAINT_US_DEATHS = _G("iran.restraint_us_deaths")
G_IR_WAR_APPETITE = _G("iran.war_appetite")
G_IR_CAMPAIGN_APPETITE = _G("iran.campaign_appetite")
G_PM_CRACKDOWN = _G("pm.crackdown")
G_PM_PRESSURE_TAU = _G("pm.pressure_tau")
G_PM_RELEASE = _G("pm.release")
G_PM_LEGITIMACY0 = _G("pm.legitimacy")
G_PM_LEGITIMACY_LOSS = _G("pm.legitimacy_loss")
G_PM_BACKFIRE_GRIEVANCE = _G("pm.backfire_grievance")
G_PM_BACKFIRE_EXCITATION = _G("pm.backfire_excitation")
G_PM_ARREST_GRIEVANCE = _G("pm.arrest_grievance")
G_PM_MEDIATION = _G("pm.mediation")
G_PM_AIR_DEFENCE_DRONE = _G("pm.air_defence_drone")
G_PM_OWN_EVIDENCE = _G("pm.own_evidence")
G_PM_INVESTIGATION = _G("pm.investigation")
G_PM_EVIDENCE_TAU = _G("pm.evidence_tau")
G_PM_RAID_SEIZURE = _G("pm.raid_seizure")
G_PM_CONVICTION_DAYS = _G("pm.conviction_days")
G_PM_CONVICTION_LEGITIMACY = _G("pm.conviction_legitimacy")
G_PM_LEGITIMACY_RECOVERY_TAU = _G("pm.legitimacy_recovery_tau")
G_TRUCE_DAYS = _G("truce.days")
G_TRUCE_SUPPRESSION = _G("truce.suppression")
G_TRUCE_CONVOY_LEAK = _G("truce.convoy_leak")
G_TRUCE_BREAKDOWN = _G("truce.breakdown")

# --- per-faction parameter matrix FP (one row per faction) ----------------------------------------
FP_PATHS = schema_paths(Faction)
"""Schema path (within a ``Faction``) of every column of FP."""
FP_NAMES = tuple(short_name(p) for p in FP_PATHS)
"""Short name of every column of FP (``"stock_rocket"`` for ``stocks.rocket``)."""
N_FP = len(FP_PATHS)
FP_INDEX = {name: i for i, name in enumerate(FP_NAMES)}
FP_PATH_INDEX = {path: i for i, path in enumerate(FP_PATHS)}


def faction_path_index(path: str) -> int:
    """Return the column of FP of a faction parameter given by its path (``"stocks.ied"``)."""
    try:
        return FP_PATH_INDEX[path]
    except KeyError:
        raise KeyError(
            f"{path!r} is not a faction parameter (e.g. 'base_rate', 'stocks.ied')"
        ) from None


_F = faction_path_index
# one greppable index constant per column: F_ + the short name in upper case
F_BASE_RATE = _F("base_rate")
F_STOCK_ROCKET = _F("stocks.rocket")
F_STOCK_IED = _F("stocks.ied")
F_STOCK_DRONE = _F("stocks.drone")
F_STOCK_SMALL_ARMS = _F("stocks.small_arms")
F_RESUPPLY_ROCKET = _F("resupply.rocket")
F_RESUPPLY_IED = _F("resupply.ied")
F_RESUPPLY_DRONE = _F("resupply.drone")
F_RESUPPLY_SMALL_ARMS = _F("resupply.small_arms")
F_MAX_ROCKET = _F("max_stock.rocket")
F_MAX_IED = _F("max_stock.ied")
F_MAX_DRONE = _F("max_stock.drone")
F_MAX_SMALL_ARMS = _F("max_stock.small_arms")
F_DRONES_FROM_DAY = _F("drones_from")
F_DISCIPLINE = _F("discipline")
F_N_FRONTS = _F("fronts")
F_FRONT_SHARE = _F("front_share")
F_TRUCE_COMPLIANCE = _F("truce_compliance")
F_GRIEVANCE_US0 = _F("grievance_us")
F_GRIEVANCE_STATE0 = _F("grievance_state")
F_STRENGTH = _F("strength")
F_ELECTION_LOSS = _F("election_loss")
F_TARGET_US_BASE = _F("targets.us_base")
F_TARGET_US_EMBASSY = _F("targets.us_embassy")
F_TARGET_CONVOY = _F("targets.convoy")
F_TARGET_IRAQI_STATE = _F("targets.iraqi_state")
F_TARGET_PM = _F("targets.pm")
F_TARGET_ACTIVIST = _F("targets.activist")
F_WEAPON_ROCKET = _F("weapons.rocket")
F_WEAPON_IED = _F("weapons.ied")
F_WEAPON_DRONE = _F("weapons.drone")
F_WEAPON_SMALL_ARMS = _F("weapons.small_arms")

# Agency parameters: one row per agency.
AP_NAMES = ("hawkishness", "voice")
N_AP = len(AP_NAMES)
A_HAWKISHNESS = 0
A_VOICE = 1

# Event record columns (int32 matrix rows in the kernel, tuples in the Mesa model).
E_DAY = 0
E_ACTOR = 1
E_KIND = 2
E_WEAPON = 3
E_TARGET = 4
E_CLAIMED = 5
E_KILLED = 6
E_SUBJECT = 7
E_DETAIL = 8
E_FORCED = 9
E_INTERCEPTED = 10
E_US_KILLED = 11
N_ECOLS = 12
