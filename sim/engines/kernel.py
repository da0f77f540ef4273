"""Batch engine: the daily phase loop over arrays, compiled with numba, parallel over replicates.

It calls the same functions of ``sim.model.rules`` as the Mesa agents
(``sim.engines.mesa.agents``), in the same phase order, with the same counter-based draws
(``sim.model.rng``), so for the same scenario and seed both engines write identical event logs
(``tests/engines/test_kernel.py`` proves it).

Phases of one day: (0) start of day: policy switch, resupply, decay, truce expiry; (1) forced
injects; (2) Iranian agencies issue directives; (3) militias attack; (4) US attribution and
retaliation; (5) prime minister: releases, crackdowns, mediation, truce breakdown.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim import vocab as V
from sim.model import layout as L
from sim.model import rng
from sim.model import rules as R
from sim.model.world import (
    J_COMPLIANCE,
    J_CRACKDOWN,
    J_DAY,
    J_DAYS,
    J_KILLED,
    J_KIND,
    J_STRIKE,
    J_SUBJECT,
    World,
)


@njit(cache=True)
def _emit(
    ev,
    base,
    cap,
    n,
    day,
    actor,
    kind,
    weapon,
    target,
    claimed,
    killed,
    subject,
    detail,
    forced,
    intercepted,
    us_killed,
):
    if n < cap:
        row = base + n
        ev[row, L.E_DAY] = day
        ev[row, L.E_ACTOR] = actor
        ev[row, L.E_KIND] = kind
        ev[row, L.E_WEAPON] = weapon
        ev[row, L.E_TARGET] = target
        ev[row, L.E_CLAIMED] = claimed
        ev[row, L.E_KILLED] = killed
        ev[row, L.E_SUBJECT] = subject
        ev[row, L.E_DETAIL] = detail
        ev[row, L.E_FORCED] = forced
        ev[row, L.E_INTERCEPTED] = intercepted
        ev[row, L.E_US_KILLED] = us_killed
    return n + 1


@njit(cache=True)
def _strike(
    g, day, i, stype, killed, forced, stocks, discipline, g_us, blame, scal, ev, base, cap, n, nf
):
    frac = R.strike_degrade_fraction(
        stype, g[L.G_US_DEGRADE_INFRASTRUCTURE], g[L.G_US_DEGRADE_LEADERSHIP]
    )
    for w in range(V.N_WEAPONS):
        stocks[i, w] = R.degrade(stocks[i, w], frac)
    discipline[i] = R.discipline_after_strike(
        discipline[i], stype, g[L.G_US_LEADERSHIP_DISCIPLINE_HIT]
    )
    for j in range(nf):
        if j == i:
            g_us[j] += g[L.G_US_STRIKE_GRIEVANCE]
        else:
            g_us[j] += g[L.G_US_STRIKE_GRIEVANCE_ALLIES]
    blame[i] = 0.0
    scal[_CRED] += g[L.G_US_CREDIBILITY_JUMP]
    scal[_REVENGE] += 1.0
    scal[_COOLDOWN_UNTIL] = day + g[L.G_US_COOLDOWN_DAYS]
    return _emit(
        ev,
        base,
        cap,
        n,
        day,
        nf + V.N_AGENCIES,
        V.K_US_STRIKE,
        -1,
        -1,
        -1,
        killed,
        i,
        V.D_PROPORTIONAL + stype,
        forced,
        0,
        0,
    )


@njit(cache=True)
def _arrest(g, day, i, forced, detained, g_state, exposure, scal, ev, base, cap, n, nf):
    detained[i] = 1
    g_state[i] += g[L.G_PM_ARREST_GRIEVANCE]
    exposure[i] += 1.0
    scal[_PRESSURE] = 0.0
    return _emit(
        ev,
        base,
        cap,
        n,
        day,
        nf + V.N_AGENCIES + 1,
        V.K_ARREST,
        -1,
        -1,
        -1,
        0,
        i,
        V.D_NONE,
        forced,
        0,
        0,
    )


@njit(cache=True)
def _start_truce(
    key, g, fp, day, party, days, compliance, forced, truce_until, complies, ev, base, cap, n, nf
):
    for i in range(nf):
        if party >= 0 and i != party:
            continue
        truce_until[i] = day + days
        c = compliance
        if c < 0.0:
            c = fp[i, L.F_TRUCE_COMPLIANCE]
        complies[i] = R.complies_with_truce(rng.draw(key, day, i, L.R_COMPLY), c)
        detail = V.D_COMPLY if complies[i] == 1 else V.D_SPOILER
        n = _emit(
            ev, base, cap, n, day, i, V.K_TRUCE_START, -1, -1, -1, 0, -1, detail, forced, 0, 0
        )
    return n


@njit(cache=True)
def _end_truce(day, party, detail, forced, truce_until, ev, base, cap, n, nf):
    for i in range(nf):
        if party >= 0 and i != party:
            continue
        if truce_until[i] >= 0:
            truce_until[i] = -1
            n = _emit(
                ev, base, cap, n, day, i, V.K_TRUCE_END, -1, -1, -1, 0, -1, detail, forced, 0, 0
            )
    return n


# indices into the per-replicate scalar state vector
_CRED = 0
_REVENGE = 1
_COOLDOWN_UNTIL = 2
_THREAT_UNTIL = 3
_PRESSURE = 4
_LEGITIMACY = 5
_CRACKDOWN = 6
_FRAGMENTED = 7
_N_SCAL = 8


@njit(cache=True)
def simulate_replicate(
    key,
    n_days,
    g_before,
    g_after,
    switch_day,
    fp,
    control,
    ap,
    injects,
    negotiation_days,
    ev,
    base,
    cap,
):
    """Simulate one replicate; write its events into ``ev[base:base+cap]``; return the count."""
    nf = fp.shape[0]
    us = nf + V.N_AGENCIES
    pm = us + 1
    stocks = np.empty((nf, V.N_WEAPONS))
    excitation = np.zeros(nf)
    g_us = np.empty(nf)
    g_state = np.empty(nf)
    discipline = np.empty(nf)
    blame = np.zeros(nf)
    detained = np.zeros(nf, dtype=np.int64)
    truce_until = np.full(nf, -1.0)
    complies = np.zeros(nf, dtype=np.int64)
    att_target = np.full(nf, -1, dtype=np.int64)
    att_claimed = np.full(nf, -1, dtype=np.int64)
    att_killed = np.zeros(nf, dtype=np.int64)
    att_us_killed = np.zeros(nf, dtype=np.int64)
    att_attributed = np.zeros(nf, dtype=np.int64)
    directive = np.zeros(V.N_AGENCIES, dtype=np.int64)
    directive_f = np.zeros(V.N_AGENCIES)
    mult = np.ones(V.N_AGENCIES)
    signal_of = np.zeros(nf)
    exposure = np.zeros(nf)
    obedience_of = np.zeros(nf)
    signals_stale = 1
    wbuf = np.zeros(V.N_TARGETS)
    lethality = np.zeros(V.N_WEAPONS)
    for i in range(nf):
        for w in range(V.N_WEAPONS):
            stocks[i, w] = fp[i, L.F_STOCK_ROCKET + w]
        g_us[i] = fp[i, L.F_GRIEVANCE_US0]
        g_state[i] = fp[i, L.F_GRIEVANCE_STATE0]
        discipline[i] = fp[i, L.F_DISCIPLINE]
    scal = np.zeros(_N_SCAL)
    scal[_COOLDOWN_UNTIL] = -1.0
    scal[_THREAT_UNTIL] = -1.0
    scal[_LEGITIMACY] = g_before[L.G_PM_LEGITIMACY0]
    scal[_CRACKDOWN] = g_before[L.G_PM_CRACKDOWN]
    n = 0
    jp = 0
    n_inj = injects.shape[0]
    for day in range(n_days):
        # ---- phase 0: start of day -------------------------------------------------------
        g = g_before
        if day >= switch_day:
            g = g_after
        f_exc = R.decay_factor(g[L.G_M_EXCITATION_TAU])
        f_grv = R.decay_factor(g[L.G_M_GRIEVANCE_TAU])
        f_blame = R.decay_factor(g[L.G_US_BLAME_TAU])
        f_expo = R.decay_factor(g[L.G_M_EXPOSURE_TAU])
        for i in range(nf):
            for w in range(V.N_WEAPONS):
                stocks[i, w] = R.resupply(
                    stocks[i, w], fp[i, L.F_RESUPPLY_ROCKET + w], fp[i, L.F_MAX_ROCKET + w]
                )
            excitation[i] = R.decay_by(excitation[i], f_exc)
            g_us[i] = R.decay_by(g_us[i], f_grv)
            g_state[i] = R.decay_by(g_state[i], f_grv)
            blame[i] = R.decay_by(blame[i], f_blame)
            exposure[i] = R.decay_by(exposure[i], f_expo)
            att_target[i] = -1
            att_claimed[i] = -1
            att_killed[i] = 0
            att_us_killed[i] = 0
            att_attributed[i] = 0
        scal[_CRED] = R.decay(scal[_CRED], g[L.G_US_CREDIBILITY_TAU])
        scal[_REVENGE] = R.decay(scal[_REVENGE], g[L.G_IR_REVENGE_TAU])
        scal[_PRESSURE] = R.decay(scal[_PRESSURE], g[L.G_PM_PRESSURE_TAU])
        for i in range(nf):
            if truce_until[i] >= 0 and day >= truce_until[i]:
                truce_until[i] = -1
                n = _emit(
                    ev, base, cap, n, day, i, V.K_TRUCE_END, -1, -1, -1, 0, -1, V.D_EXPIRED, 0, 0, 0
                )
        # ---- phase 1: forced injects -----------------------------------------------------
        while jp < n_inj and injects[jp, J_DAY] == day:
            kind = int(injects[jp, J_KIND])
            subj = int(injects[jp, J_SUBJECT])
            if kind == V.I_US_STRIKE:
                n = _strike(
                    g,
                    day,
                    subj,
                    int(injects[jp, J_STRIKE]),
                    int(injects[jp, J_KILLED]),
                    1,
                    stocks,
                    discipline,
                    g_us,
                    blame,
                    scal,
                    ev,
                    base,
                    cap,
                    n,
                    nf,
                )
            elif kind == V.I_DECAPITATION:
                scal[_FRAGMENTED] = 1.0
                for i in range(nf):
                    g_us[i] += g[L.G_US_STRIKE_GRIEVANCE]
                scal[_REVENGE] += 1.0
                n = _emit(
                    ev,
                    base,
                    cap,
                    n,
                    day,
                    us,
                    V.K_DECAPITATION,
                    -1,
                    -1,
                    -1,
                    0,
                    -1,
                    V.D_NONE,
                    1,
                    0,
                    0,
                )
            elif kind == V.I_TRUCE:
                n = _start_truce(
                    key,
                    g,
                    fp,
                    day,
                    subj,
                    injects[jp, J_DAYS],
                    injects[jp, J_COMPLIANCE],
                    1,
                    truce_until,
                    complies,
                    ev,
                    base,
                    cap,
                    n,
                    nf,
                )
            elif kind == V.I_TRUCE_END:
                n = _end_truce(day, subj, V.D_NONE, 1, truce_until, ev, base, cap, n, nf)
            elif kind == V.I_ARREST:
                n = _arrest(
                    g, day, subj, 1, detained, g_state, exposure, scal, ev, base, cap, n, nf
                )
            elif kind == V.I_THREAT:
                scal[_THREAT_UNTIL] = day + injects[jp, J_DAYS]
                n = _emit(
                    ev, base, cap, n, day, us, V.K_THREAT, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0
                )
            elif kind == V.I_ELECTION:
                for i in range(nf):
                    g_state[i] += fp[i, L.F_ELECTION_LOSS]
                n = _emit(
                    ev, base, cap, n, day, pm, V.K_ELECTION, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0
                )
            elif kind == V.I_NEW_PM:
                scal[_CRACKDOWN] = injects[jp, J_CRACKDOWN]
                scal[_LEGITIMACY] = g[L.G_PM_LEGITIMACY0]
                n = _emit(
                    ev, base, cap, n, day, pm, V.K_NEW_PM, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0
                )
            elif kind == V.I_NEGOTIATION:
                n = _emit(
                    ev, base, cap, n, day, us, V.K_NEGOTIATION, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0
                )
            elif kind == V.I_PM_POLICY:
                if injects[jp, J_CRACKDOWN] >= 0.0:
                    scal[_CRACKDOWN] = injects[jp, J_CRACKDOWN]
                if injects[jp, J_COMPLIANCE] >= 0.0:
                    scal[_LEGITIMACY] = injects[jp, J_COMPLIANCE]
            jp += 1
        # ---- phase 2: Iranian agencies ---------------------------------------------------
        unified = int(g[L.G_IR_UNIFIED])
        fragmented = int(scal[_FRAGMENTED])
        truce_active = 0
        for i in range(nf):
            if truce_until[i] >= 0:
                truce_active = 1
        app = R.appetite_on(day, negotiation_days, g[L.G_IR_APPETITE_LEAD_DAYS])
        for a in range(V.N_AGENCIES):
            src = a
            if unified == 1:
                src = 1
            nd = directive[src]
            u_redraw = rng.draw(key, day, nf + src, L.R_REDRAW)
            if R.reconsiders_directive(u_redraw, g[L.G_IR_DIRECTIVE_DAYS], nd) == 1:
                p_esc = R.escalation_probability(
                    ap[src, L.A_HAWKISHNESS],
                    app,
                    g[L.G_IR_APPETITE],
                    scal[_REVENGE],
                    g[L.G_IR_REVENGE],
                    truce_active,
                    g[L.G_IR_TRUCE_CALM],
                )
                nd = R.next_directive(
                    u_redraw,
                    rng.draw(key, day, nf + src, L.R_DIRECTIVE),
                    p_esc,
                    g[L.G_IR_DIRECTIVE_DAYS],
                    nd,
                )
            if nd != directive[a]:
                directive[a] = nd
                directive_f[a] = nd
                signals_stale = 1
                detail = V.D_ESCALATE if nd == 1 else V.D_CALM
                n = _emit(
                    ev, base, cap, n, day, nf + a, V.K_DIRECTIVE, -1, -1, -1, 0, -1, detail, 0, 0, 0
                )
            m_a = R.control_multiplier(a, fragmented, unified, g[L.G_IR_QF_CONTROL_AFTER])
            if m_a != mult[a]:
                mult[a] = m_a
                signals_stale = 1
        if signals_stale == 1:
            # the signal is a pure function of (control, multipliers, directives): recompute it
            # only when one of them changed (the Mesa agents recompute it daily: same values)
            for i in range(nf):
                sig, obe = R.directive_signal(control[:, i], mult, directive_f)
                signal_of[i] = sig
                obedience_of[i] = obe
            signals_stale = 0
        # ---- phase 3: militias -----------------------------------------------------------
        threat_active = 0
        if day < scal[_THREAT_UNTIL]:
            threat_active = 1
        doctrine = int(g[L.G_US_DOCTRINE])
        frag_noise = fragmented
        if unified == 1:
            frag_noise = 0
        for w in range(V.N_WEAPONS):
            lethality[w] = g[L.G_M_LETHALITY_ROCKET + w]
        for i in range(nf):
            signal = signal_of[i]
            obedience = obedience_of[i]
            noise = R.discipline_noise(
                rng.draw(key, day, i, L.R_NOISE),
                g[L.G_M_NOISE],
                discipline[i],
                frag_noise,
                g[L.G_IR_FRAGMENTATION_NOISE],
            )
            det = R.deterrence(
                fp[i, L.F_FRONT_SHARE],
                g[L.G_US_ATTRIBUTION],
                g[L.G_US_ATTRIBUTION_FRONT],
                doctrine,
                g[L.G_US_STRIKE_RATE],
                scal[_CRED],
                threat_active,
                g[L.G_US_THREAT_DETERRENCE],
            )
            lam = R.attack_intensity(
                fp[i, L.F_BASE_RATE],
                excitation[i],
                g_us[i] + g_state[i],
                g[L.G_M_BETA_GRIEVANCE],
                signal,
                obedience,
                g[L.G_M_BETA_DIRECTIVE],
                noise,
                det,
                g[L.G_M_BETA_DETERRENCE],
            )
            drones_ok = 1 if day >= fp[i, L.F_DRONES_FROM_DAY] else 0
            in_truce = 1 if truce_until[i] >= 0 else 0
            prefs = fp[i, L.F_TARGET_US_BASE : L.F_TARGET_US_BASE + V.N_TARGETS]
            total = R.target_weights(
                prefs,
                stocks[i],
                drones_ok,
                g[L.G_US_POSTURE],
                g_state[i],
                g[L.G_M_STATE_TARGETING],
                in_truce,
                complies[i],
                g[L.G_TRUCE_SUPPRESSION],
                g[L.G_TRUCE_CONVOY_LEAK],
                wbuf,
            )
            p = R.attack_probability(lam, R.open_share(total, prefs))
            if rng.draw(key, day, i, L.R_ATTACK) < p:
                shift = R.deniable_shift(exposure[i], g[L.G_M_DENIABILITY])
                total_c = R.shift_to_deniable(wbuf, total, shift)
                t = R.choose_index(rng.draw(key, day, i, L.R_TARGET), wbuf, total_c)
                wprefs = fp[i, L.F_WEAPON_ROCKET : L.F_WEAPON_ROCKET + V.N_WEAPONS]
                w = R.choose_weapon(
                    rng.draw(key, day, i, L.R_WEAPON), t, stocks[i], drones_ok, wprefs
                )
                stocks[i, w] = R.use_weapon(stocks[i, w])
                c = R.choose_claim(
                    rng.draw(key, day, i, L.R_CLAIM),
                    fp[i, L.F_FRONT_SHARE],
                    int(fp[i, L.F_N_FRONTS]),
                )
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
                    killed = R.casualties(
                        rng.draw(key, day, i, L.R_KILL),
                        rng.draw(key, day, i, L.R_KILL_COUNT),
                        w,
                        lethality,
                    )
                usk = R.us_victims(
                    rng.draw(key, day, i, L.R_US_VICTIM), killed, t, g[L.G_US_VICTIM_SHARE]
                )
                excitation[i] += g[L.G_M_EXCITATION_JUMP]
                att_target[i] = t
                att_claimed[i] = c
                att_killed[i] = killed
                att_us_killed[i] = usk
                n = _emit(
                    ev,
                    base,
                    cap,
                    n,
                    day,
                    i,
                    V.K_ATTACK,
                    w,
                    t,
                    c,
                    killed,
                    -1,
                    V.D_NONE,
                    0,
                    inter,
                    usk,
                )
        # ---- phase 4: US forces ----------------------------------------------------------
        for i in range(nf):
            t = att_target[i]
            if t == V.T_US_BASE or t == V.T_US_EMBASSY or t == V.T_CONVOY:
                pa = R.attribution_probability(
                    att_claimed[i], g[L.G_US_ATTRIBUTION], g[L.G_US_ATTRIBUTION_FRONT]
                )
                if rng.draw(key, day, i, L.R_ATTRIBUTE) < pa:
                    blame[i] += 1.0
                    att_attributed[i] = 1
                    n = _emit(
                        ev,
                        base,
                        cap,
                        n,
                        day,
                        us,
                        V.K_ATTRIBUTION,
                        -1,
                        -1,
                        -1,
                        0,
                        i,
                        V.D_NONE,
                        0,
                        0,
                        0,
                    )
        for i in range(nf):
            usk = 0
            if att_attributed[i] == 1:
                usk = att_us_killed[i]
            p = R.strike_probability(
                doctrine,
                blame[i],
                g[L.G_US_STRIKE_RATE],
                usk,
                g[L.G_US_RED_LINE],
                g[L.G_US_RED_LINE_STRIKE],
                scal[_COOLDOWN_UNTIL] - day,
            )
            if p > 0.0 and rng.draw(key, day, i, L.R_STRIKE) < p:
                stype = R.strike_type_of(doctrine)
                k = R.strike_casualties(rng.draw(key, day, i, L.R_STRIKE_KILLED), stype)
                n = _strike(
                    g,
                    day,
                    i,
                    stype,
                    k,
                    0,
                    stocks,
                    discipline,
                    g_us,
                    blame,
                    scal,
                    ev,
                    base,
                    cap,
                    n,
                    nf,
                )
        # ---- phase 5: prime minister -----------------------------------------------------
        for i in range(nf):
            if att_target[i] >= 0:
                scal[_PRESSURE] += R.pressure_from_attack(
                    att_target[i], att_killed[i], att_us_killed[i]
                )
        any_detained = 0
        for i in range(nf):
            if detained[i] == 1:
                p = R.release_probability(g[L.G_PM_RELEASE], fp[i, L.F_STRENGTH], scal[_LEGITIMACY])
                if rng.draw(key, day, i, L.R_RELEASE) < p:
                    detained[i] = 0
                    scal[_LEGITIMACY] = R.legitimacy_after_release(
                        scal[_LEGITIMACY], g[L.G_PM_LEGITIMACY_LOSS]
                    )
                    g_state[i] += g[L.G_PM_BACKFIRE_GRIEVANCE]
                    excitation[i] += g[L.G_PM_BACKFIRE_EXCITATION]
                    n = _emit(
                        ev, base, cap, n, day, pm, V.K_RELEASE, -1, -1, -1, 0, i, V.D_NONE, 0, 0, 0
                    )
                else:
                    any_detained = 1
        if any_detained == 0:
            suspect = R.prime_suspect(blame)
            if suspect >= 0:
                p = R.crackdown_probability(
                    scal[_CRACKDOWN], scal[_PRESSURE], scal[_LEGITIMACY], threat_active
                )
                if p > 0.0 and rng.draw(key, day, pm, L.R_ARREST) < p:
                    n = _arrest(
                        g, day, suspect, 0, detained, g_state, exposure, scal, ev, base, cap, n, nf
                    )
        truce_active = 0
        for i in range(nf):
            if truce_until[i] >= 0:
                truce_active = 1
        if truce_active == 0:
            mean_dir = R.mean_directive(directive_f)
            p = R.mediation_probability(
                g[L.G_PM_MEDIATION], threat_active, mean_dir, scal[_PRESSURE]
            )
            if p > 0.0 and rng.draw(key, day, pm, L.R_MEDIATE) < p:
                n = _start_truce(
                    key,
                    g,
                    fp,
                    day,
                    -1,
                    g[L.G_TRUCE_DAYS],
                    -1.0,
                    0,
                    truce_until,
                    complies,
                    ev,
                    base,
                    cap,
                    n,
                    nf,
                )
        else:
            for i in range(nf):
                t = att_target[i]
                spoiler = 0
                if (
                    truce_until[i] >= 0
                    and complies[i] == 0
                    and (t == V.T_US_BASE or t == V.T_US_EMBASSY)
                ):
                    spoiler = 1
                if (
                    spoiler == 1
                    and R.truce_breaks(
                        rng.draw(key, day, i, L.R_BREAKDOWN), 1, g[L.G_TRUCE_BREAKDOWN]
                    )
                    == 1
                ):
                    n = _end_truce(day, -1, V.D_BREAKDOWN, 0, truce_until, ev, base, cap, n, nf)
                    break
    return n


@njit(cache=True, parallel=True)
def simulate_batch(
    seed,
    rep_start,
    n_reps,
    n_days,
    g_before,
    g_after,
    switch_day,
    fp,
    control,
    ap,
    injects,
    negotiation_days,
    cap,
):
    """Simulate replicates ``rep_start .. rep_start + n_reps - 1`` in parallel.

    Returns
    -------
    ev : ndarray (n_reps * cap, N_ECOLS) int32
        Event records; replicate r's are rows ``r * cap`` to ``r * cap + min(counts[r], cap)``.
    counts : ndarray (n_reps,) int64
        Number of events each replicate produced (a count above ``cap`` means overflow).
    """
    ev = np.empty((n_reps * cap, L.N_ECOLS), dtype=np.int32)
    counts = np.zeros(n_reps, dtype=np.int64)
    for r in prange(n_reps):
        key = rng.replicate_key(seed, rep_start + r)
        counts[r] = simulate_replicate(
            key,
            n_days,
            g_before,
            g_after,
            switch_day,
            fp,
            control,
            ap,
            injects,
            negotiation_days,
            ev,
            r * cap,
            cap,
        )
    return ev, counts


def event_capacity(world: World) -> int:
    """Return the initial per-replicate event buffer of a world (rows; retried if too small)."""
    return max(64, world.n_days * (world.n_factions + 2) // 4)


def run_kernel(world: World, rep_start: int, n_reps: int, cap: int | None = None):
    """Run replicates with the kernel; return (records, rep_index) with overflow handled.

    Parameters
    ----------
    world : World
        The compiled scenario.
    rep_start, n_reps : int
        The replicate range.
    cap : int, optional
        Initial event capacity per replicate; doubled and retried on overflow (the run is
        deterministic, so a retry reproduces the same events).

    Returns
    -------
    records : ndarray (N, N_ECOLS) int32
        Event records of all replicates in replicate order.
    reps : ndarray (N,) int64
        The replicate index of each record.
    """
    if cap is None:
        cap = event_capacity(world)
    while True:
        ev, counts = simulate_batch(
            world.seed,
            rep_start,
            n_reps,
            world.n_days,
            world.g_before,
            world.g_after,
            world.switch_day,
            world.fp,
            world.control,
            world.ap,
            world.injects,
            world.negotiation_days,
            cap,
        )
        if counts.max(initial=0) <= cap:
            break
        cap = int(counts.max()) + 16
    starts = np.arange(n_reps, dtype=np.int64) * cap
    # row numbers of each replicate's first counts[r] records
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(starts, counts) + offsets
    reps = np.repeat(np.arange(rep_start, rep_start + n_reps, dtype=np.int64), counts)
    return ev[idx], reps
