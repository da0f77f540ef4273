"""Compile a validated ``Scenario`` into the arrays both engines read (dates become days)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim import vocab as V
from sim.model import layout as L
from sim.scenario import Scenario
from sim.scenario.schema import IranParams, MilitiaParams, PMParams, TruceParams, USParams

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


def _global_vector(
    us: USParams, mil: MilitiaParams, ir: IranParams, pm: PMParams, tr: TruceParams
) -> np.ndarray:
    g = np.zeros(L.N_G)
    values = {
        "us_doctrine": V.DOCTRINES.index(us.doctrine),
        "us_attribution": us.attribution,
        "us_attribution_front": us.attribution_front,
        "us_strike_rate": us.strike_rate,
        "us_red_line": us.red_line,
        "us_red_line_strike": us.red_line_strike,
        "us_cooldown_days": us.cooldown_days,
        "us_air_defence_rocket": us.air_defence_rocket,
        "us_air_defence_drone": us.air_defence_drone,
        "us_posture": us.posture,
        "us_degrade_infrastructure": us.degrade_infrastructure,
        "us_degrade_leadership": us.degrade_leadership,
        "us_leadership_discipline_hit": us.leadership_discipline_hit,
        "us_strike_grievance": us.strike_grievance,
        "us_strike_grievance_allies": us.strike_grievance_allies,
        "us_credibility_jump": us.credibility_jump,
        "us_credibility_tau": us.credibility_tau,
        "us_threat_deterrence": us.threat_deterrence,
        "us_victim_share": us.victim_share,
        "us_blame_tau": us.blame_tau,
        "m_beta_grievance": mil.beta_grievance,
        "m_beta_directive": mil.beta_directive,
        "m_beta_deterrence": mil.beta_deterrence,
        "m_excitation_jump": mil.excitation_jump,
        "m_excitation_tau": mil.excitation_tau,
        "m_grievance_tau": mil.grievance_tau,
        "m_noise": mil.noise,
        "m_lethality_rocket": mil.lethality.rocket,
        "m_lethality_ied": mil.lethality.ied,
        "m_lethality_drone": mil.lethality.drone,
        "m_lethality_small_arms": mil.lethality.small_arms,
        "m_state_targeting": mil.state_targeting,
        "m_deniability": mil.deniability,
        "m_exposure_tau": mil.exposure_tau,
        "ir_unified": 1.0 if ir.unified else 0.0,
        "ir_qf_control_after": ir.qf_control_after,
        "ir_fragmentation_noise": ir.fragmentation_noise,
        "ir_appetite": ir.appetite,
        "ir_appetite_lead_days": ir.appetite_lead_days,
        "ir_directive_days": ir.directive_days,
        "ir_revenge": ir.revenge,
        "ir_revenge_tau": ir.revenge_tau,
        "ir_truce_calm": ir.truce_calm,
        "pm_crackdown": pm.crackdown,
        "pm_pressure_tau": pm.pressure_tau,
        "pm_release": pm.release,
        "pm_legitimacy0": pm.legitimacy,
        "pm_legitimacy_loss": pm.legitimacy_loss,
        "pm_backfire_grievance": pm.backfire_grievance,
        "pm_backfire_excitation": pm.backfire_excitation,
        "pm_arrest_grievance": pm.arrest_grievance,
        "pm_mediation": pm.mediation,
        "pm_air_defence_drone": pm.air_defence_drone,
        "truce_days": tr.days,
        "truce_suppression": tr.suppression,
        "truce_convoy_leak": tr.convoy_leak,
        "truce_breakdown": tr.breakdown,
    }
    for name, v in values.items():
        g[L.G_INDEX[name]] = float(v)
    assert len(values) == L.N_G
    return g


def _faction_row(f, start: dt.date) -> np.ndarray:
    row = np.zeros(L.N_FP)
    put = {
        "base_rate": f.base_rate,
        "discipline": f.discipline,
        "front_share": f.front_share,
        "n_fronts": len(f.fronts),
        "truce_compliance": f.truce_compliance,
        "grievance_us0": f.grievance_us,
        "grievance_state0": f.grievance_state,
        "strength": f.strength,
        "election_loss": f.election_loss,
        "drones_from_day": (f.drones_from - start).days if f.drones_from is not None else -1,
    }
    for w in V.WEAPONS:
        put["stock_" + w] = getattr(f.stocks, w)
        put["resupply_" + w] = getattr(f.resupply, w)
        put["max_" + w] = getattr(f.max_stock, w)
        put["weapon_" + w] = getattr(f.weapons, w)
    for t in V.TARGETS:
        put["target_" + t] = getattr(f.targets, t)
    for name, v in put.items():
        row[L.FP_INDEX[name]] = float(v)
    # a stock above its cap is clipped on the first resupply; clip it here too
    for w in V.WEAPONS:
        i, m = L.FP_INDEX["stock_" + w], L.FP_INDEX["max_" + w]
        row[i] = min(row[i], row[m])
    return row


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
    g_before = _global_vector(sc.us, sc.militia, sc.iran, sc.pm, sc.truce)
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
            merged(USParams, sc.us, pol.us),
            merged(MilitiaParams, sc.militia, pol.militia),
            merged(IranParams, sc.iran, pol.iran),
            merged(PMParams, sc.pm, pol.pm),
            merged(TruceParams, sc.truce, pol.truce),
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
    policy_injects = sc.policy.injects if sc.policy is not None else ()
    fronts = {f.name: list(f.fronts) for f in sc.factions}
    for k, inj in enumerate(sc.injects + policy_injects):
        day = (inj.date - sc.start).days
        if k < len(sc.injects) and inj.kind in drop and day >= switch_day:
            continue  # the policy's own injects are never dropped
        rows.append(
            [
                day,
                V.INJECT_KINDS.index(inj.kind),
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
