"""Mesa agents of the escalation model: views onto the replicate's state arrays.

Each agent's state lives in the arrays of ``sim.model.state`` held by its model
(``model.state``); the agent's attributes are properties that read and write its row there
(``Militia.excitation`` is ``model.state.fs[index, FS_EXCITATION]``). So an agent can be
inspected and changed like any Mesa agent, while its ``step`` calls the jitted turn of
``sim.model.phases`` that the batch kernel (``sim.engines.kernel``) runs too: the two engines
share every decision (``sim.model.rules``) and every effect (``sim.model.effects``).
See ``docs/ODD.md`` for the model and ``Readme.md`` beside this file for the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from sim import vocab as V
from sim.model import effects as E
from sim.model import layout as L
from sim.model import phases as P
from sim.model import state as S


def _row_view(array: str, column: int, kind: Callable[[Any], Any], doc: str) -> property:
    """Return a property reading and writing ``model.state.<array>[self.index, column]``."""

    def get(self: mesa.Agent) -> Any:
        return kind(getattr(self.model.state, array)[self.index, column])

    def put(self: mesa.Agent, value: Any) -> None:
        getattr(self.model.state, array)[self.index, column] = value

    return property(get, put, doc=doc)


def _scalar_view(column: int, doc: str) -> property:
    """Return a property reading and writing ``model.state.sc[column]``."""

    def get(self: mesa.Agent) -> float:
        return float(self.model.state.sc[column])

    def put(self: mesa.Agent, value: float) -> None:
        self.model.state.sc[column] = value

    return property(get, put, doc=doc)


class IranianAgency(mesa.Agent):
    """One of the four Iranian agencies (S1): issues calm or escalate directives.

    Parameters
    ----------
    model : mesa.Model
        The model.
    index : int
        Agency index (0 MOIS, 1 IRGC-QF, 2 Beit Rahbari, 3 SL Office).
    """

    model: Any  # the EscalationModel (not imported here: model.py imports this module)

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.hawkishness = float(model.world.ap[index, L.A_HAWKISHNESS])

    directive = _row_view("af", S.AF_DIRECTIVE, int, "Current directive: -1 calm, 0 none, +1.")
    control_multiplier = _row_view("af", S.AF_MULTIPLIER, float, "Control multiplier today.")

    @property
    def actor(self) -> int:
        """Actor code of this agency."""
        return V.agency_actor(self.model.n_factions, self.index)

    def step(self) -> None:
        """Phase 2: keep or renew this agency's directive; log a change (``agency_turn``)."""
        m, s, w = self.model, self.model.state, self.model.world
        P.agency_turn(
            m.key,
            m.day,
            self.index,
            m.g,
            w.ap,
            w.negotiation_days,
            s.fs,
            s.sc,
            s.si,
            s.af,
            s.ev,
            s.ep,
        )


class Militia(mesa.Agent):
    """An Iran-backed faction with capability stocks, grievances, discipline and front groups.

    Parameters
    ----------
    model : mesa.Model
        The model.
    index : int
        Faction index (roster order of the scenario).
    """

    model: Any  # the EscalationModel (not imported here: model.py imports this module)

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.p = model.world.fp[index]

    excitation = _row_view("fs", S.FS_EXCITATION, float, "Self-excitation.")
    grievance_us = _row_view("fs", S.FS_GRIEVANCE_US, float, "Grievance against the US.")
    grievance_state = _row_view("fs", S.FS_GRIEVANCE_STATE, float, "Grievance against the state.")
    discipline = _row_view("fs", S.FS_DISCIPLINE, float, "Discipline (share in [0, 1]).")
    blame = _row_view("fs", S.FS_BLAME, float, "Blame attributed to it by the US.")
    exposure = _row_view("fs", S.FS_EXPOSURE, float, "Exposure after raids on it.")
    truce_until = _row_view("fs", S.FS_TRUCE_UNTIL, float, "Day its truce ends; -1 = none.")
    signal = _row_view("fs", S.FS_SIGNAL, float, "Directive signal from its agencies.")
    obedience = _row_view("fs", S.FS_OBEDIENCE, float, "Total control over it.")
    detained = _row_view("fi", S.FI_DETAINED, int, "1 while members are detained.")
    complies = _row_view("fi", S.FI_COMPLIES, int, "1 if it complies with its truce.")
    att_target = _row_view("fi", S.FI_ATT_TARGET, int, "Today's attack: target (-1 none).")
    att_claimed = _row_view("fi", S.FI_ATT_CLAIMED, int, "Today's attack: claiming front.")
    att_killed = _row_view("fi", S.FI_ATT_KILLED, int, "Today's attack: deaths.")
    att_us_killed = _row_view("fi", S.FI_ATT_US_KILLED, int, "Today's attack: US deaths.")
    att_attributed = _row_view("fi", S.FI_ATT_ATTRIBUTED, int, "Today's attack attributed.")

    @property
    def stocks(self) -> np.ndarray:
        """Weapon stocks (rocket, ied, drone, small_arms): a writable view of the state."""
        return self.model.state.fs[self.index, S.FS_STOCK_ROCKET : S.FS_STOCK_ROCKET + V.N_WEAPONS]

    @property
    def grievance(self) -> float:
        """Total grievance: against the US plus against the state."""
        return self.grievance_us + self.grievance_state

    def step(self) -> None:
        """Phase 3: decide whether to attack, then target, weapon, claim and outcome."""
        m, s, w = self.model, self.model.state, self.model.world
        P.militia_turn(
            m.key,
            m.day,
            self.index,
            m.g,
            w.fp,
            w.control,
            s.fs,
            s.fi,
            s.sc,
            s.si,
            s.af,
            s.wk,
            s.ev,
            s.ep,
        )


class USForces(mesa.Agent):
    """US forces: attribution of attacks and retaliation by doctrine."""

    model: Any  # the EscalationModel (not imported here: model.py imports this module)

    cooldown_until = _scalar_view(S.SC_COOLDOWN_UNTIL, "Day the strike cooldown ends; -1 = none.")
    credibility = _scalar_view(S.SC_CREDIBILITY, "US credibility.")
    threat_until = _scalar_view(S.SC_THREAT_UNTIL, "Day a coercive threat stops; -1 = none.")

    def strike(self, target: Militia, strike_type: int, killed: int, forced: int) -> None:
        """Strike a faction now, with every effect of a strike (``sim.model.effects.strike``)."""
        m, s = self.model, self.model.state
        E.strike(m.day, m.g, target.index, strike_type, killed, forced, s.fs, s.sc, s.ev, s.ep)

    def step(self) -> None:
        """Phase 4: attribute today's attacks on US targets, then decide on strikes."""
        m, s = self.model, self.model.state
        P.us_turn(m.key, m.day, m.g, s.fs, s.fi, s.sc, s.ev, s.ep)


class PrimeMinister(mesa.Agent):
    """The Iraqi prime minister: crackdowns, forced releases, legitimacy, truce mediation."""

    model: Any  # the EscalationModel (not imported here: model.py imports this module)

    pressure = _scalar_view(S.SC_PRESSURE, "Political pressure from attacks.")
    legitimacy = _scalar_view(S.SC_LEGITIMACY, "Legitimacy.")
    crackdown = _scalar_view(S.SC_CRACKDOWN, "Crackdown disposition.")

    def arrest(self, target: Militia, forced: int) -> None:
        """Raid a faction now (``sim.model.effects.arrest``)."""
        m, s = self.model, self.model.state
        E.arrest(m.day, m.g, target.index, forced, s.fs, s.fi, s.sc, s.ev, s.ep)

    def start_truce(self, party: int, days: float, compliance: float, forced: int) -> None:
        """Start a truce for faction ``party`` or all (-1) (``sim.model.effects.start_truce``)."""
        m, s = self.model, self.model.state
        E.start_truce(
            m.key, m.day, m.world.fp, party, days, compliance, forced, s.fs, s.fi, s.ev, s.ep
        )

    def end_truce(self, party: int, detail: int, forced: int) -> None:
        """End the truce of faction ``party`` or of all (-1) (``sim.model.effects.end_truce``)."""
        s = self.model.state
        E.end_truce(self.model.day, party, detail, forced, s.fs, s.ev, s.ep)

    def step(self) -> None:
        """Phase 5: pressure, releases, crackdown, mediation, truce breakdown."""
        m, s = self.model, self.model.state
        P.pm_turn(m.key, m.day, m.g, m.world.fp, s.fs, s.fi, s.sc, s.af, s.ev, s.ep)
