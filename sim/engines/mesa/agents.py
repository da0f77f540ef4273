"""Mesa agents of the escalation model: the readable reference engine.

Each agent keeps its own state and decides by calling the jitted functions of
``sim.model.rules`` with draws from ``sim.model.rng``; the batch kernel (``sim.engines.kernel``)
runs the same calls in the same order on arrays. See ``docs/ODD.md`` for the model description.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim import vocab as V
from sim.model import layout as L
from sim.model import rules as R


class IranianAgency(mesa.Agent):
    """One of the four Iranian agencies (S1): issues calm or escalate directives."""

    model: mesa.Model

    def __init__(self, model: mesa.Model, index: int, hawkishness: float) -> None:
        super().__init__(model)
        self.index = index
        self.hawkishness = hawkishness
        self.directive = 0
        self.control_multiplier = 1.0

    @property
    def actor(self) -> int:
        """Actor code of this agency."""
        return self.model.n_factions + self.index

    def issue_directive(self) -> None:
        """Phase 2: keep or renew this agency's directive; log a change."""
        m = self.model
        g = m.g
        unified = int(g[L.G_IR_UNIFIED])
        src = m.agencies[1] if unified == 1 else self
        nd = src.directive
        u_redraw = m.draw(src.actor, L.R_REDRAW)
        if R.reconsiders_directive(u_redraw, g[L.G_IR_DIRECTIVE_DAYS], nd) == 1:
            p_esc = R.escalation_probability(
                src.hawkishness,
                m.appetite,
                g[L.G_IR_APPETITE],
                m.revenge,
                g[L.G_IR_REVENGE],
                m.truce_active(),
                g[L.G_IR_TRUCE_CALM],
            )
            nd = R.next_directive(
                u_redraw, m.draw(src.actor, L.R_DIRECTIVE), p_esc, g[L.G_IR_DIRECTIVE_DAYS], nd
            )
        if nd != self.directive:
            self.directive = nd
            m.emit(self.actor, V.K_DIRECTIVE, detail=V.D_ESCALATE if nd == 1 else V.D_CALM)
        self.control_multiplier = R.control_multiplier(
            self.index, m.fragmented, unified, g[L.G_IR_QF_CONTROL_AFTER]
        )


class Militia(mesa.Agent):
    """An Iran-backed faction with capability stocks, grievances, discipline and front groups."""

    model: mesa.Model

    def __init__(self, model: mesa.Model, index: int, params: np.ndarray) -> None:
        super().__init__(model)
        self.index = index
        self.p = params
        self.stocks = np.array([params[L.F_STOCK_ROCKET + w] for w in range(V.N_WEAPONS)])
        self.excitation = 0.0
        self.grievance_us = float(params[L.F_GRIEVANCE_US0])
        self.grievance_state = float(params[L.F_GRIEVANCE_STATE0])
        self.discipline = float(params[L.F_DISCIPLINE])
        self.blame = 0.0
        self.exposure = 0.0
        self.detained = 0
        self.truce_until = -1.0
        self.complies = 0
        self._weights = np.zeros(V.N_TARGETS)
        self.clear_today()

    def clear_today(self) -> None:
        """Forget today's attack record."""
        self.att_target = -1
        self.att_claimed = -1
        self.att_killed = 0
        self.att_us_killed = 0
        self.att_attributed = 0

    def start_of_day(self, f_exc: float, f_grv: float, f_blame: float, f_expo: float) -> None:
        """Phase 0: resupply and decay (with today's decay factors)."""
        p = self.p
        for w in range(V.N_WEAPONS):
            self.stocks[w] = R.resupply(
                self.stocks[w], p[L.F_RESUPPLY_ROCKET + w], p[L.F_MAX_ROCKET + w]
            )
        self.excitation = R.decay_by(self.excitation, f_exc)
        self.grievance_us = R.decay_by(self.grievance_us, f_grv)
        self.grievance_state = R.decay_by(self.grievance_state, f_grv)
        self.blame = R.decay_by(self.blame, f_blame)
        self.exposure = R.decay_by(self.exposure, f_expo)
        self.clear_today()

    def decide_attack(self) -> None:
        """Phase 3: decide whether to attack, then target, weapon, claim and outcome."""
        m, g, p, i = self.model, self.model.g, self.p, self.index
        signal, obedience = R.directive_signal(m.control[:, i], m.multipliers(), m.directives())
        frag_noise = 0 if int(g[L.G_IR_UNIFIED]) == 1 else m.fragmented
        noise = R.discipline_noise(
            m.draw(i, L.R_NOISE),
            g[L.G_M_NOISE],
            self.discipline,
            frag_noise,
            g[L.G_IR_FRAGMENTATION_NOISE],
        )
        det = R.deterrence(
            p[L.F_FRONT_SHARE],
            g[L.G_US_ATTRIBUTION],
            g[L.G_US_ATTRIBUTION_FRONT],
            int(g[L.G_US_DOCTRINE]),
            g[L.G_US_STRIKE_RATE],
            m.credibility,
            m.threat_active(),
            g[L.G_US_THREAT_DETERRENCE],
        )
        lam = R.attack_intensity(
            p[L.F_BASE_RATE],
            self.excitation,
            self.grievance_us + self.grievance_state,
            g[L.G_M_BETA_GRIEVANCE],
            signal,
            obedience,
            g[L.G_M_BETA_DIRECTIVE],
            noise,
            det,
            g[L.G_M_BETA_DETERRENCE],
        )
        drones_ok = 1 if m.day >= p[L.F_DRONES_FROM_DAY] else 0
        in_truce = 1 if self.truce_until >= 0 else 0
        prefs = p[L.F_TARGET_US_BASE : L.F_TARGET_US_BASE + V.N_TARGETS]
        total = R.target_weights(
            prefs,
            self.stocks,
            drones_ok,
            g[L.G_US_POSTURE],
            self.grievance_state,
            g[L.G_M_STATE_TARGETING],
            in_truce,
            self.complies,
            g[L.G_TRUCE_SUPPRESSION],
            g[L.G_TRUCE_CONVOY_LEAK],
            self._weights,
        )
        prob = R.attack_probability(lam, R.open_share(total, prefs))
        if not m.draw(i, L.R_ATTACK) < prob:
            return
        shift = R.deniable_shift(self.exposure, g[L.G_M_DENIABILITY])
        total_c = R.shift_to_deniable(self._weights, total, shift)
        t = R.choose_index(m.draw(i, L.R_TARGET), self._weights, total_c)
        wprefs = p[L.F_WEAPON_ROCKET : L.F_WEAPON_ROCKET + V.N_WEAPONS]
        w = R.choose_weapon(m.draw(i, L.R_WEAPON), t, self.stocks, drones_ok, wprefs)
        self.stocks[w] = R.use_weapon(self.stocks[w])
        c = R.choose_claim(m.draw(i, L.R_CLAIM), p[L.F_FRONT_SHARE], int(p[L.F_N_FRONTS]))
        inter = R.is_intercepted(
            m.draw(i, L.R_INTERCEPT),
            w,
            t,
            g[L.G_US_AIR_DEFENCE_ROCKET],
            g[L.G_US_AIR_DEFENCE_DRONE],
            g[L.G_PM_AIR_DEFENCE_DRONE],
        )
        killed = 0
        if inter == 0:
            killed = R.casualties(m.draw(i, L.R_KILL), m.draw(i, L.R_KILL_COUNT), w, m.lethality)
        usk = R.us_victims(m.draw(i, L.R_US_VICTIM), killed, t, g[L.G_US_VICTIM_SHARE])
        self.excitation += g[L.G_M_EXCITATION_JUMP]
        self.att_target, self.att_claimed = t, c
        self.att_killed, self.att_us_killed = killed, usk
        m.emit(
            i,
            V.K_ATTACK,
            weapon=w,
            target=t,
            claimed=c,
            killed=killed,
            intercepted=inter,
            us_killed=usk,
        )


class USForces(mesa.Agent):
    """US forces: attribution of attacks and retaliation by doctrine."""

    model: mesa.Model

    def __init__(self, model: mesa.Model) -> None:
        super().__init__(model)
        self.cooldown_until = -1.0

    def strike(self, target: Militia, stype: int, killed: int, forced: int) -> None:
        """Strike a faction: degrade stocks, raise grievances, log the strike."""
        m, g = self.model, self.model.g
        frac = R.strike_degrade_fraction(
            stype, g[L.G_US_DEGRADE_INFRASTRUCTURE], g[L.G_US_DEGRADE_LEADERSHIP]
        )
        for w in range(V.N_WEAPONS):
            target.stocks[w] = R.degrade(target.stocks[w], frac)
        target.discipline = R.discipline_after_strike(
            target.discipline, stype, g[L.G_US_LEADERSHIP_DISCIPLINE_HIT]
        )
        for other in m.militias:
            if other is target:
                other.grievance_us += g[L.G_US_STRIKE_GRIEVANCE]
            else:
                other.grievance_us += g[L.G_US_STRIKE_GRIEVANCE_ALLIES]
        target.blame = 0.0
        m.credibility += g[L.G_US_CREDIBILITY_JUMP]
        m.revenge += 1.0
        self.cooldown_until = m.day + g[L.G_US_COOLDOWN_DAYS]
        m.emit(
            m.us_code,
            V.K_US_STRIKE,
            killed=killed,
            subject=target.index,
            detail=V.D_PROPORTIONAL + stype,
            forced=forced,
        )

    def respond(self) -> None:
        """Phase 4: attribute today's attacks on US targets, then decide on strikes."""
        m, g = self.model, self.model.g
        for f in m.militias:
            t = f.att_target
            if t == V.T_US_BASE or t == V.T_US_EMBASSY or t == V.T_CONVOY:
                pa = R.attribution_probability(
                    f.att_claimed, g[L.G_US_ATTRIBUTION], g[L.G_US_ATTRIBUTION_FRONT]
                )
                if m.draw(f.index, L.R_ATTRIBUTE) < pa:
                    f.blame += 1.0
                    f.att_attributed = 1
                    m.emit(m.us_code, V.K_ATTRIBUTION, subject=f.index)
        doctrine = int(g[L.G_US_DOCTRINE])
        for f in m.militias:
            usk = f.att_us_killed if f.att_attributed == 1 else 0
            p = R.strike_probability(
                doctrine,
                f.blame,
                g[L.G_US_STRIKE_RATE],
                usk,
                g[L.G_US_RED_LINE],
                g[L.G_US_RED_LINE_STRIKE],
                self.cooldown_until - m.day,
            )
            if p > 0.0 and m.draw(f.index, L.R_STRIKE) < p:
                stype = R.strike_type_of(doctrine)
                k = R.strike_casualties(m.draw(f.index, L.R_STRIKE_KILLED), stype)
                self.strike(f, stype, k, 0)


class PrimeMinister(mesa.Agent):
    """The Iraqi prime minister: crackdowns, forced releases, legitimacy, truce mediation."""

    model: mesa.Model

    def __init__(self, model: mesa.Model, legitimacy: float, crackdown: float) -> None:
        super().__init__(model)
        self.pressure = 0.0
        self.legitimacy = legitimacy
        self.crackdown = crackdown

    def arrest(self, target: Militia, forced: int) -> None:
        """Raid a faction and hold detainees."""
        target.detained = 1
        target.grievance_state += self.model.g[L.G_PM_ARREST_GRIEVANCE]
        target.exposure += 1.0
        self.pressure = 0.0
        self.model.emit(self.model.pm_code, V.K_ARREST, subject=target.index, forced=forced)

    def start_truce(self, party: int, days: float, compliance: float, forced: int) -> None:
        """Start a truce for one faction (``party``) or all (-1); each draws compliance."""
        m = self.model
        for f in m.militias:
            if party >= 0 and f.index != party:
                continue
            f.truce_until = m.day + days
            c = compliance if compliance >= 0.0 else f.p[L.F_TRUCE_COMPLIANCE]
            f.complies = R.complies_with_truce(m.draw(f.index, L.R_COMPLY), c)
            m.emit(
                f.index,
                V.K_TRUCE_START,
                detail=V.D_COMPLY if f.complies == 1 else V.D_SPOILER,
                forced=forced,
            )

    def end_truce(self, party: int, detail: int, forced: int) -> None:
        """End the truce of one faction (``party``) or of all (-1)."""
        for f in self.model.militias:
            if party >= 0 and f.index != party:
                continue
            if f.truce_until >= 0:
                f.truce_until = -1.0
                self.model.emit(f.index, V.K_TRUCE_END, detail=detail, forced=forced)

    def respond(self) -> None:
        """Phase 5: pressure, releases, crackdown, mediation, truce breakdown."""
        m, g = self.model, self.model.g
        for f in m.militias:
            if f.att_target >= 0:
                self.pressure += R.pressure_from_attack(f.att_target, f.att_killed, f.att_us_killed)
        any_detained = 0
        for f in m.militias:
            if f.detained == 1:
                p = R.release_probability(g[L.G_PM_RELEASE], f.p[L.F_STRENGTH], self.legitimacy)
                if m.draw(f.index, L.R_RELEASE) < p:
                    f.detained = 0
                    self.legitimacy = R.legitimacy_after_release(
                        self.legitimacy, g[L.G_PM_LEGITIMACY_LOSS]
                    )
                    f.grievance_state += g[L.G_PM_BACKFIRE_GRIEVANCE]
                    f.excitation += g[L.G_PM_BACKFIRE_EXCITATION]
                    m.emit(m.pm_code, V.K_RELEASE, subject=f.index)
                else:
                    any_detained = 1
        threat = m.threat_active()
        if any_detained == 0:
            suspect = R.prime_suspect(np.array([f.blame for f in m.militias]))
            if suspect >= 0:
                p = R.crackdown_probability(self.crackdown, self.pressure, self.legitimacy, threat)
                if p > 0.0 and m.draw(m.pm_code, L.R_ARREST) < p:
                    self.arrest(m.militias[suspect], 0)
        if m.truce_active() == 0:
            p = R.mediation_probability(
                g[L.G_PM_MEDIATION], threat, R.mean_directive(m.directives()), self.pressure
            )
            if p > 0.0 and m.draw(m.pm_code, L.R_MEDIATE) < p:
                self.start_truce(-1, g[L.G_TRUCE_DAYS], -1.0, 0)
        else:
            for f in m.militias:
                t = f.att_target
                spoiler = 0
                if (
                    f.truce_until >= 0
                    and f.complies == 0
                    and (t == V.T_US_BASE or t == V.T_US_EMBASSY)
                ):
                    spoiler = 1
                if (
                    spoiler == 1
                    and R.truce_breaks(m.draw(f.index, L.R_BREAKDOWN), 1, g[L.G_TRUCE_BREAKDOWN])
                    == 1
                ):
                    self.end_truce(-1, V.D_BREAKDOWN, 0)
                    break
