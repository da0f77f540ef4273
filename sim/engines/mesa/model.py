"""The Mesa model: one replicate of the escalation model, stepped one day at a time.

Phase order of a day (identical in ``sim.engines.kernel``): start of day (policy switch, resupply,
decay, truce expiry); forced injects; agencies' directives; militias' attacks; US attribution
and retaliation; the prime minister's releases, crackdowns, mediation and truce breakdown.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim import vocab as V
from sim.engines.mesa.agents import IranianAgency, Militia, PrimeMinister, USForces
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


class EscalationModel(mesa.Model):
    """One replicate of the militia-state escalation model.

    Parameters
    ----------
    world : World
        The compiled scenario.
    rep : int
        Replicate index: with the scenario seed it fixes every random draw.
    """

    def __init__(self, world: World, rep: int) -> None:
        super().__init__(rng=world.seed + rep)
        self.world = world
        self.rep = rep
        self.key = rng.key_for(world.seed, rep)
        self.n_factions = world.n_factions
        self.us_code = V.us_actor(self.n_factions)
        self.pm_code = V.pm_actor(self.n_factions)
        self.control = world.control
        self.g = world.g_before
        self.day = -1
        self.events: list[tuple[int, ...]] = []
        self.credibility = 0.0
        self.revenge = 0.0
        self.fragmented = 0
        self.threat_until = -1.0
        self.appetite = 0
        self.lethality = np.zeros(V.N_WEAPONS)
        self._inject = 0
        self.militias = [Militia(self, i, world.fp[i]) for i in range(self.n_factions)]
        self.agencies = [
            IranianAgency(self, a, float(world.ap[a, L.A_HAWKISHNESS])) for a in range(V.N_AGENCIES)
        ]
        self.us = USForces(self)
        self.pm = PrimeMinister(
            self, float(world.g_before[L.G_PM_LEGITIMACY0]), float(world.g_before[L.G_PM_CRACKDOWN])
        )

    # --- helpers the agents use ---------------------------------------------------------------
    def draw(self, actor: int, decision: int) -> float:
        """Return today's draw for ``actor``'s ``decision``."""
        return rng.draw(self.key, self.day, actor, decision)

    def emit(
        self,
        actor: int,
        kind: int,
        *,
        weapon: int = -1,
        target: int = -1,
        claimed: int = -1,
        killed: int = 0,
        subject: int = -1,
        detail: int = V.D_NONE,
        forced: int = 0,
        intercepted: int = 0,
        us_killed: int = 0,
    ) -> None:
        """Append an event record (same columns as the kernel's)."""
        self.events.append(
            (
                self.day,
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
            )
        )

    def truce_active(self) -> int:
        """Return 1 if any faction is under a truce."""
        return 1 if any(f.truce_until >= 0 for f in self.militias) else 0

    def threat_active(self) -> int:
        """Return 1 while a US coercive threat stands."""
        return 1 if self.day < self.threat_until else 0

    def multipliers(self) -> np.ndarray:
        """Return each agency's control multiplier today."""
        return np.array([a.control_multiplier for a in self.agencies])

    def directives(self) -> np.ndarray:
        """Return each agency's current directive as floats."""
        return np.array([float(a.directive) for a in self.agencies])

    # --- phases ---------------------------------------------------------------------------------
    def begin_day(self) -> None:
        """Phase 0: policy switch, resupply and decay, truce expiry."""
        w = self.world
        self.day += 1
        self.g = w.g_after if self.day >= w.switch_day else w.g_before
        g = self.g
        f_exc = R.decay_factor(g[L.G_M_EXCITATION_TAU])
        f_grv = R.decay_factor(g[L.G_M_GRIEVANCE_TAU])
        f_blame = R.decay_factor(g[L.G_US_BLAME_TAU])
        f_expo = R.decay_factor(g[L.G_M_EXPOSURE_TAU])
        for f in self.militias:
            f.start_of_day(f_exc, f_grv, f_blame, f_expo)
        self.credibility = R.decay(self.credibility, g[L.G_US_CREDIBILITY_TAU])
        self.revenge = R.decay(self.revenge, g[L.G_IR_REVENGE_TAU])
        self.pm.pressure = R.decay(self.pm.pressure, g[L.G_PM_PRESSURE_TAU])
        for f in self.militias:
            if f.truce_until >= 0 and self.day >= f.truce_until:
                f.truce_until = -1.0
                self.emit(f.index, V.K_TRUCE_END, detail=V.D_EXPIRED)

    def apply_injects(self) -> None:
        """Phase 1: force the documented events dated today."""
        inj = self.world.injects
        while self._inject < inj.shape[0] and inj[self._inject, J_DAY] == self.day:
            row = inj[self._inject]
            kind, subj = int(row[J_KIND]), int(row[J_SUBJECT])
            if kind == V.I_US_STRIKE:
                self.us.strike(self.militias[subj], int(row[J_STRIKE]), int(row[J_KILLED]), 1)
            elif kind == V.I_DECAPITATION:
                self.fragmented = 1
                for f in self.militias:
                    f.grievance_us += self.g[L.G_US_STRIKE_GRIEVANCE]
                self.revenge += 1.0
                self.emit(self.us_code, V.K_DECAPITATION, forced=1)
            elif kind == V.I_TRUCE:
                self.pm.start_truce(subj, row[J_DAYS], row[J_COMPLIANCE], 1)
            elif kind == V.I_TRUCE_END:
                self.pm.end_truce(subj, V.D_NONE, 1)
            elif kind == V.I_ARREST:
                self.pm.arrest(self.militias[subj], 1)
            elif kind == V.I_THREAT:
                self.threat_until = self.day + row[J_DAYS]
                self.emit(self.us_code, V.K_THREAT, forced=1)
            elif kind == V.I_ELECTION:
                for f in self.militias:
                    f.grievance_state += f.p[L.F_ELECTION_LOSS]
                self.emit(self.pm_code, V.K_ELECTION, forced=1)
            elif kind == V.I_NEW_PM:
                self.pm.crackdown = row[J_CRACKDOWN]
                self.pm.legitimacy = self.g[L.G_PM_LEGITIMACY0]
                self.emit(self.pm_code, V.K_NEW_PM, forced=1)
            elif kind == V.I_NEGOTIATION:
                self.emit(self.us_code, V.K_NEGOTIATION, forced=1)
            elif kind == V.I_PM_POLICY:
                if row[J_CRACKDOWN] >= 0.0:
                    self.pm.crackdown = row[J_CRACKDOWN]
                if row[J_COMPLIANCE] >= 0.0:
                    self.pm.legitimacy = row[J_COMPLIANCE]
            self._inject += 1

    def step(self) -> None:
        """Advance one day through the six phases."""
        self.begin_day()
        self.apply_injects()
        g = self.g
        self.appetite = R.appetite_on(
            self.day, self.world.negotiation_days, g[L.G_IR_APPETITE_LEAD_DAYS]
        )
        for agency in self.agencies:
            agency.issue_directive()
        for w in range(V.N_WEAPONS):
            self.lethality[w] = g[L.G_M_LETHALITY_ROCKET + w]
        for militia in self.militias:
            militia.decide_attack()
        self.us.respond()
        self.pm.respond()

    def run(self) -> list[tuple[int, ...]]:
        """Run the whole horizon and return the event records."""
        for _ in range(self.world.n_days):
            self.step()
        return self.events


def run_mesa(world: World, rep_start: int, n_reps: int) -> tuple[np.ndarray, np.ndarray]:
    """Run replicates with the Mesa engine; same return shape as the kernel's ``run_kernel``."""
    records: list[tuple[int, ...]] = []
    reps: list[int] = []
    for r in range(rep_start, rep_start + n_reps):
        ev = EscalationModel(world, r).run()
        records.extend(ev)
        reps.extend([r] * len(ev))
    arr = np.array(records, dtype=np.int32).reshape(-1, L.N_ECOLS)
    return arr, np.array(reps, dtype=np.int64)
