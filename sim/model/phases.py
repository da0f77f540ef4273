"""One day of the model: its phases in order, and each actor's turn, written once for both engines.

Both engines follow ``DAY``: the batch kernel (``sim.engines.kernel``) calls, for each phase,
the phase function below for the model-level phases and each actor's turn in index order; the
Mesa model (``sim.engines.mesa.model``) calls the model-level phases itself and, in the actor
phases, each agent's ``step``, which calls its turn below (``agency_turn``, ``militia_turn``,
``us_turn``, ``pm_turn``). A turn reads today's draws
(``sim.model.rng``), decides with the rules (``sim.model.rules``) and changes state only through
the effects (``sim.model.effects``). See ODD section 3.

Arguments follow one order: the replicate key and day, the actor index where there is one, the
world's arrays (``g`` in force today, ``fp``, ``control``, ``ap``, ``injects``,
``negotiation_days``), then the state arrays (``fs, fi, sc, si, af, wk, ev, ep``; see
``sim.model.state``).

Turns and effects are compiled with ``_nrt=False`` (numba's target option that turns off its
reference counting for a function) and ``inline="always"``: they never allocate, keep or return
an array, so the counts are not needed. With them, every call passing the state arrays did two
atomic operations per array, which made the kernel about five times slower than the monolithic
kernel it replaced (measured on ``scenarios/historical.yaml``; a micro-benchmark gave about 200 ns
per call with 11 arrays); inlined into the kernel's day loop (``sim.engines.kernel.run_days``,
itself without reference counting) they cost no call at all. The Mesa agents call them one by one
from Python. ``params_on`` returns an array: inlined, it needs no count either.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import effects as E
from sim.model import layout as L
from sim.model import rng
from sim.model import rules as R
from sim.model import state as S
from sim.model.state import (
    AF_DIRECTIVE,
    FI_ATT_ATTRIBUTED,
    FI_ATT_CLAIMED,
    FI_ATT_TARGET,
    FI_ATT_US_KILLED,
    FI_COMPLIES,
    FI_DETAINED,
    FS_BLAME,
    FS_DISCIPLINE,
    FS_EXCITATION,
    FS_EXPOSURE,
    FS_GRIEVANCE_STATE,
    FS_GRIEVANCE_US,
    FS_OBEDIENCE,
    FS_SIGNAL,
    FS_STOCK_ROCKET,
    FS_TRUCE_UNTIL,
    SC_COOLDOWN_UNTIL,
    SC_CRACKDOWN,
    SC_CREDIBILITY,
    SC_FRAGMENTED,
    SC_LEGITIMACY,
    SC_PRESSURE,
    SC_REVENGE,
    SC_THREAT_UNTIL,
    SI_NEXT_INJECT,
)
from sim.model.world import (
    J_CLAIM,
    J_COMPLIANCE,
    J_CRACKDOWN,
    J_DAY,
    J_DAYS,
    J_KILLED,
    J_KIND,
    J_STRIKE,
    J_SUBJECT,
    J_TARGET,
    J_WEAPON,
)

# --- the phases of a day, in order (ODD section 3) -----------------------------------------------
PHASE_START_OF_DAY = 0  # resupply, decay, truce expiry (model level)
PHASE_INJECTS = 1  # the documented events dated today (model level)
PHASE_AGENCIES = 2  # each Iranian agency, in index order: ``agency_turn``
PHASE_MILITIAS = 3  # each faction, in roster order: ``militia_turn``
PHASE_US = 4  # the US forces: ``us_turn``
PHASE_PM = 5  # the prime minister: ``pm_turn``
DAY = (
    PHASE_START_OF_DAY,
    PHASE_INJECTS,
    PHASE_AGENCIES,
    PHASE_MILITIAS,
    PHASE_US,
    PHASE_PM,
)
PHASE_NAMES = ("start_of_day", "injects", "agencies", "militias", "us", "pm")


@njit(cache=True, inline="always")
def params_on(day: int, g_before: np.ndarray, g_after: np.ndarray, switch_day: int) -> np.ndarray:
    """Return the global parameters in force on ``day``: the policy's from its start day on.

    Source: the policy lever of ODD 6.3.
    """
    if day >= switch_day:
        return g_after
    return g_before


@njit(cache=True, inline="always", _nrt=False)
def truce_active(fs: np.ndarray) -> int:
    """Return 1 if any faction is in a truce."""
    for i in range(fs.shape[0]):
        if fs[i, FS_TRUCE_UNTIL] >= 0:
            return 1
    return 0


@njit(cache=True, inline="always", _nrt=False)
def threat_active(day: int, sc: np.ndarray) -> int:
    """Return 1 while a US coercive threat stands."""
    return 1 if day < sc[SC_THREAT_UNTIL] else 0


@njit(cache=True, inline="always", _nrt=False)
def start_of_day(day, g, fp, fs, fi, sc, ev, ep) -> None:
    """Phase 0: resupply and forgetting for every faction, decay of the scalars, truce expiry."""
    f_exc = R.decay_factor(g[L.G_M_EXCITATION_TAU])
    f_grv = R.decay_factor(g[L.G_M_GRIEVANCE_TAU])
    f_blame = R.decay_factor(g[L.G_US_BLAME_TAU])
    f_expo = R.decay_factor(g[L.G_M_EXPOSURE_TAU])
    for i in range(fs.shape[0]):
        E.resupply_and_forget(i, fp, fs, fi, f_exc, f_grv, f_blame, f_expo)
    E.forget_evidence(fs, R.decay_factor(g[L.G_PM_EVIDENCE_TAU]))
    E.forget_scalars(g, sc)
    E.expire_truces(day, fs, ev, ep)


@njit(cache=True, inline="always", _nrt=False)
def apply_injects(key, day, g, fp, injects, fs, fi, sc, si, ev, ep) -> None:
    """Phase 1: apply the injects dated today, in file order (ODD 6.2)."""
    nf = fs.shape[0]
    jp = si[SI_NEXT_INJECT]
    while jp < injects.shape[0] and injects[jp, J_DAY] == day:
        kind = int(injects[jp, J_KIND])
        subj = int(injects[jp, J_SUBJECT])
        if kind == V.I_US_STRIKE:
            stype = int(injects[jp, J_STRIKE])
            E.strike(day, g, subj, stype, int(injects[jp, J_KILLED]), 1, fs, sc, ev, ep)
        elif kind == V.I_DECAPITATION:
            E.decapitation(day, g, fs, sc, ev, ep)
        elif kind == V.I_TRUCE:
            days, comp = injects[jp, J_DAYS], injects[jp, J_COMPLIANCE]
            E.start_truce(key, day, fp, subj, days, comp, 1, fs, fi, ev, ep)
        elif kind == V.I_TRUCE_END:
            E.end_truce(day, subj, V.D_NONE, 1, fs, ev, ep)
        elif kind == V.I_ARREST:
            E.arrest(day, g, subj, 1, fs, fi, sc, ev, ep)
        elif kind == V.I_THREAT:
            E.threat(day, injects[jp, J_DAYS], nf, sc, ev, ep)
        elif kind == V.I_ELECTION:
            E.election(day, fp, fs, sc, ev, ep)
        elif kind == V.I_NEW_PM:
            E.new_pm(day, g, injects[jp, J_CRACKDOWN], nf, sc, ev, ep)
        elif kind == V.I_NEGOTIATION:
            E.negotiation(day, nf, ev, ep)
        elif kind == V.I_REGIONAL_WAR:
            E.regional_war(day, injects[jp, J_DAYS], sc)
        elif kind == V.I_PRESSURE_CAMPAIGN:
            E.pressure_campaign(day, injects[jp, J_DAYS], sc)
        elif kind == V.I_PM_POLICY:
            # the row carries legitimacy in J_COMPLIANCE (see sim.model.world)
            E.pm_policy(injects[jp, J_CRACKDOWN], injects[jp, J_COMPLIANCE], sc)
        elif kind == V.I_FACTION_POLICY:
            # the row carries the state column in J_STRIKE and the value in J_COMPLIANCE
            E.faction_policy(subj, int(injects[jp, J_STRIKE]), injects[jp, J_COMPLIANCE], fs)
        elif kind == V.I_ATTACK:
            # a documented attack forced at its date: the faction's attack effect, not
            # intercepted (it happened); its deaths on a US target are US deaths (ODD 6.2)
            t = int(injects[jp, J_TARGET])
            k = int(injects[jp, J_KILLED])
            usk = k if V.IS_US_TARGET[t] == 1 else 0
            w, c = int(injects[jp, J_WEAPON]), int(injects[jp, J_CLAIM])
            E.attack(day, g, subj, w, t, c, k, 0, usk, fs, fi, ev, ep, 1)
            # a forced attack crosses Iran's red lines as a simulated one does (R2: Tower 22)
            if R.restraint_trigger(t, usk, g[L.G_IR_RESTRAINT_US_DEATHS]) == 1:
                E.restrain(day, sc)
        jp += 1
    si[SI_NEXT_INJECT] = jp


@njit(cache=True, inline="always", _nrt=False)
def agency_turn(key, day, a, g, ap, negotiation_days, fs, sc, si, af, ev, ep) -> None:
    """Phase 2, agency ``a``: keep or renew its directive; set its control multiplier (ODD 3)."""
    nf = fs.shape[0]
    unified = int(g[L.G_IR_UNIFIED])
    src = a
    if unified == 1:
        src = 1  # a unified command follows IRGC-QF (S1)
    nd = int(af[src, AF_DIRECTIVE])
    u_redraw = rng.draw(key, day, nf + src, L.R_REDRAW)
    reconsider = R.reconsiders_after_event(
        u_redraw,
        g[L.G_IR_DIRECTIVE_DAYS],
        nd,
        day - sc[S.SC_EVENT_DAY],
        g[L.G_IR_EVENT_LAG_DAYS],
        g[L.G_IR_EVENT_RECONSIDER],
    )
    if reconsider == 1:
        p_esc = R.restrained_escalation_probability(
            ap[src, L.A_HAWKISHNESS],
            R.appetite_on(day, negotiation_days, g[L.G_IR_APPETITE_LEAD_DAYS]),
            g[L.G_IR_APPETITE],
            sc[SC_REVENGE],
            g[L.G_IR_REVENGE],
            truce_active(fs),
            g[L.G_IR_TRUCE_CALM],
            sc[S.SC_RESTRAINT],
            g[L.G_IR_RESTRAINT],
            R.war_on(day, sc[S.SC_WAR_START], sc[S.SC_WAR_UNTIL]),
            g[L.G_IR_WAR_APPETITE],
            R.campaign_on(day, sc[S.SC_CAMPAIGN_START], sc[S.SC_CAMPAIGN_UNTIL]),
            g[L.G_IR_CAMPAIGN_APPETITE],
        )
        # a draw of 0 makes next_directive issue a new directive (it has been reconsidered)
        nd = R.next_directive(
            0.0,
            rng.draw(key, day, nf + src, L.R_DIRECTIVE),
            p_esc,
            g[L.G_IR_DIRECTIVE_DAYS],
            nd,
        )
    E.set_directive(day, a, nd, nf, af, si, ev, ep)
    E.set_voice(a, ap[a, L.A_VOICE], af, si)
    m_a = R.control_timeline(
        a,
        int(sc[SC_FRAGMENTED]),
        unified,
        g[L.G_IR_QF_CONTROL_AFTER],
        day - sc[S.SC_DECAPITATION_DAY],
        g[L.G_IR_SOLEIMANI_EXCLUSIVE],
        g[L.G_IR_TAKEOVER_DAYS],
    )
    E.set_control_multiplier(a, m_a, af, si)


@njit(cache=True, inline="always", _nrt=False)
def militia_turn(key, day, i, g, fp, control, fs, fi, sc, si, af, wk, ev, ep) -> None:
    """Phase 3, faction ``i``: whether to attack today, and if so the target, weapon and outcome."""
    E.refresh_signals(g, control, fs, sc, af, si)
    fi[i, S.FI_LINES_CONFLICT] = R.lines_conflict(
        control[:, i], af[:, S.AF_MULTIPLIER], af[:, AF_DIRECTIVE]
    )
    front = fp[i, L.F_FRONT_SHARE]
    if fp[i, L.F_N_FRONTS] > 0:
        front = R.exposed_front_share(front, fs[i, FS_EXPOSURE], g[L.G_M_FRONT_SHIFT])
    deny = R.coordinated_attribution(1.0, fi[i, S.FI_LINES_CONFLICT], g[L.G_IR_COORDINATION])
    unified = int(g[L.G_IR_UNIFIED])
    frag_noise = int(sc[SC_FRAGMENTED])
    if unified == 1:
        frag_noise = 0
    noise = R.discipline_noise(
        rng.draw(key, day, i, L.R_NOISE),
        g[L.G_M_NOISE],
        fs[i, FS_DISCIPLINE],
        frag_noise,
        g[L.G_IR_FRAGMENTATION_NOISE],
    )
    det = R.deterrence(
        front,
        g[L.G_US_ATTRIBUTION] * deny,
        g[L.G_US_ATTRIBUTION_FRONT] * deny,
        int(g[L.G_US_DOCTRINE]),
        g[L.G_US_STRIKE_RATE],
        sc[SC_CREDIBILITY],
        threat_active(day, sc),
        g[L.G_US_THREAT_DETERRENCE],
    )
    lam = R.attack_intensity(
        fs[i, S.FS_BASE_RATE],
        fs[i, FS_EXCITATION],
        fs[i, FS_GRIEVANCE_US] + fs[i, FS_GRIEVANCE_STATE],
        g[L.G_M_BETA_GRIEVANCE],
        fs[i, FS_SIGNAL],
        fs[i, FS_OBEDIENCE],
        g[L.G_M_BETA_DIRECTIVE],
        noise,
        det,
        g[L.G_M_BETA_DETERRENCE],
    )
    lam = lam * R.raid_hiatus(fs[i, FS_EXPOSURE], g[L.G_M_HIATUS])
    drones_ok = 1 if day >= fp[i, L.F_DRONES_FROM_DAY] else 0
    in_truce = 1 if fs[i, FS_TRUCE_UNTIL] >= 0 else 0
    prefs = fp[i, L.F_TARGET_US_BASE : L.F_TARGET_US_BASE + V.N_TARGETS]
    stocks = fs[i, FS_STOCK_ROCKET : FS_STOCK_ROCKET + V.N_WEAPONS]
    total = R.target_weights(
        prefs,
        stocks,
        drones_ok,
        g[L.G_US_POSTURE],
        fs[i, FS_GRIEVANCE_STATE],
        g[L.G_M_STATE_TARGETING],
        in_truce,
        fi[i, FI_COMPLIES],
        g[L.G_TRUCE_SUPPRESSION],
        g[L.G_TRUCE_CONVOY_LEAK],
        wk,
    )
    elections_past = 1 if sc[S.SC_ELECTIONS] > 0.0 else 0
    for t in (V.T_STATE, V.T_PM):
        k = R.state_turn_multiplier(
            t,
            elections_past,
            g[L.G_M_PM_BEFORE_ELECTION],
            g[L.G_M_STATE_TURN],
            fp[i, L.F_ELECTION_LOSS],
        )
        if k != 1.0:  # only then: keeps the total bit for bit at the neutral values
            total = total - wk[t] + wk[t] * k
            wk[t] = wk[t] * k
    p = R.attack_probability(lam, R.open_share(total, prefs))
    if not rng.draw(key, day, i, L.R_ATTACK) < p:
        return
    shift = R.deniable_shift(fs[i, FS_EXPOSURE], g[L.G_M_DENIABILITY])
    total_c = R.shift_to_deniable(wk, total, shift)
    t = R.choose_index(rng.draw(key, day, i, L.R_TARGET), wk, total_c)
    wprefs = fp[i, L.F_WEAPON_ROCKET : L.F_WEAPON_ROCKET + V.N_WEAPONS]
    w = R.choose_weapon(rng.draw(key, day, i, L.R_WEAPON), t, stocks, drones_ok, wprefs)
    c = R.choose_claim(rng.draw(key, day, i, L.R_CLAIM), front, int(fp[i, L.F_N_FRONTS]))
    inter = R.is_intercepted(
        rng.draw(key, day, i, L.R_INTERCEPT),
        w,
        t,
        g[L.G_US_AIR_DEFENCE_ROCKET],
        g[L.G_US_AIR_DEFENCE_DRONE],
        g[L.G_PM_AIR_DEFENCE_DRONE],
    )
    killed = 0
    if inter == 0:
        lethality = g[L.G_M_LETHALITY_ROCKET : L.G_M_LETHALITY_ROCKET + V.N_WEAPONS]
        killed = R.casualties(
            rng.draw(key, day, i, L.R_KILL), rng.draw(key, day, i, L.R_KILL_COUNT), w, lethality
        )
    usk = R.us_victims(rng.draw(key, day, i, L.R_US_VICTIM), killed, t, g[L.G_US_VICTIM_SHARE])
    E.attack(day, g, i, w, t, c, killed, inter, usk, fs, fi, ev, ep)
    if R.restraint_trigger(t, usk, g[L.G_IR_RESTRAINT_US_DEATHS]) == 1:
        E.restrain(day, sc)


@njit(cache=True, inline="always", _nrt=False)
def us_turn(key, day, g, fs, fi, sc, ev, ep) -> None:
    """Phase 4: attribute today's attacks on US targets, then decide on strikes (ODD 3)."""
    nf = fs.shape[0]
    for i in range(nf):
        t = fi[i, FI_ATT_TARGET]
        if t == V.T_US_BASE or t == V.T_US_EMBASSY or t == V.T_CONVOY:
            pa = R.attribution_probability(
                fi[i, FI_ATT_CLAIMED], g[L.G_US_ATTRIBUTION], g[L.G_US_ATTRIBUTION_FRONT]
            )
            pa = R.coordinated_attribution(pa, fi[i, S.FI_LINES_CONFLICT], g[L.G_IR_COORDINATION])
            if rng.draw(key, day, i, L.R_ATTRIBUTE) < pa:
                E.attribute(day, i, fs, fi, ev, ep)
    doctrine = int(g[L.G_US_DOCTRINE])
    for i in range(nf):
        usk = 0
        if fi[i, FI_ATT_ATTRIBUTED] == 1:
            usk = fi[i, FI_ATT_US_KILLED]
        p = R.strike_probability(
            doctrine,
            fs[i, FS_BLAME],
            g[L.G_US_STRIKE_RATE],
            usk,
            g[L.G_US_RED_LINE],
            g[L.G_US_RED_LINE_STRIKE],
            sc[SC_COOLDOWN_UNTIL] - day,
        )
        if p > 0.0 and rng.draw(key, day, i, L.R_STRIKE) < p:
            stype = R.strike_type_of(doctrine)
            k = R.strike_casualties(rng.draw(key, day, i, L.R_STRIKE_KILLED), stype)
            E.strike(day, g, i, stype, k, 0, fs, sc, ev, ep)


@njit(cache=True, inline="always", _nrt=False)
def pm_turn(key, day, g, fp, fs, fi, sc, af, ev, ep) -> None:
    """Phase 5: pressure, releases, a crackdown, mediation or truce breakdown (ODD 3)."""
    nf = fs.shape[0]
    pm = nf + V.N_AGENCIES + 1
    for i in range(nf):
        E.add_attack_pressure(i, fi, sc)
        t = fi[i, FI_ATT_TARGET]
        if t >= 0:
            pe = R.evidence_probability(
                fi[i, FI_ATT_CLAIMED], t, g[L.G_PM_INVESTIGATION], g[L.G_US_ATTRIBUTION_FRONT]
            )
            if rng.draw(key, day, i, L.R_EVIDENCE) < pe:
                E.add_evidence(i, fs)
    any_detained = 0
    for i in range(nf):
        if fi[i, FI_DETAINED] == 1:
            if R.convicted(day - fs[i, S.FS_ARREST_DAY], g[L.G_PM_CONVICTION_DAYS]) == 1:
                E.convict(g, i, fs, fi, sc)
                continue
            p = R.release_probability(g[L.G_PM_RELEASE], fp[i, L.F_STRENGTH], sc[SC_LEGITIMACY])
            if rng.draw(key, day, i, L.R_RELEASE) < p:
                E.release(day, g, i, fs, fi, sc, ev, ep)
            else:
                any_detained = 1
    threat = threat_active(day, sc)
    if any_detained == 0:
        suspect = R.raid_suspect(fs[:, FS_BLAME], fs[:, S.FS_EVIDENCE], g[L.G_PM_OWN_EVIDENCE])
        if suspect >= 0:
            p = R.crackdown_probability(
                sc[SC_CRACKDOWN], sc[SC_PRESSURE], sc[SC_LEGITIMACY], threat
            )
            if p > 0.0 and rng.draw(key, day, pm, L.R_ARREST) < p:
                E.arrest(day, g, suspect, 0, fs, fi, sc, ev, ep)
    if truce_active(fs) == 0:
        mean_dir = R.mean_directive(af[:, AF_DIRECTIVE])
        p = R.mediation_probability(g[L.G_PM_MEDIATION], threat, mean_dir, sc[SC_PRESSURE])
        if p > 0.0 and rng.draw(key, day, pm, L.R_MEDIATE) < p:
            E.start_truce(key, day, fp, -1, g[L.G_TRUCE_DAYS], -1.0, 0, fs, fi, ev, ep)
    else:
        for i in range(nf):
            t = fi[i, FI_ATT_TARGET]
            spoiler = (
                fs[i, FS_TRUCE_UNTIL] >= 0
                and fi[i, FI_COMPLIES] == 0
                and (t == V.T_US_BASE or t == V.T_US_EMBASSY)
            )
            if spoiler:
                u = rng.draw(key, day, i, L.R_BREAKDOWN)
                if R.truce_breaks(u, 1, g[L.G_TRUCE_BREAKDOWN]) == 1:
                    E.end_truce(day, -1, V.D_BREAKDOWN, 0, fs, ev, ep)
                    break
