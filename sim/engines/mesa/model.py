"""The Mesa model: one replicate of the escalation model, stepped one day at a time.

A day runs the phases of ``sim.model.phases.DAY`` in order, as the batch kernel does: the model
itself runs the start of day and the injects; each kind of agent then takes its turn through its
``AgentSet`` (``agents_by_type[...].do("step")``). A ``DataCollector`` records the day's counts
(for SolaraViz, ``mesa.batch_run`` and dataframes); ``run_mesa`` runs whole replicates and returns
the event records in the kernel's format.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import mesa
import numpy as np

from sim import vocab as V
from sim.engines.design import Design
from sim.engines.mesa.agents import IranianAgency, Militia, PrimeMinister, USForces
from sim.model import layout as L
from sim.model import phases as P
from sim.model import state as S
from sim.model.rng import key_for
from sim.model.world import J_DAY, World, compile_world
from sim.scenario import load_scenario

STATE_TARGETS = (V.T_STATE, V.T_PM, V.T_ACTIVIST)


@lru_cache(maxsize=8)
def _compiled(path: str, mtime_ns: int) -> World:
    """Return the compiled world of a scenario file (cached per path and modification time)."""
    return compile_world(load_scenario(path).scenario)


def as_world(world: World | str | Path) -> World:
    """Return ``world`` itself, or the compiled world of a scenario file path."""
    if isinstance(world, World):
        return world
    path = Path(world).resolve()
    return _compiled(str(path), path.stat().st_mtime_ns)


def day_capacity(world: World) -> int:
    """Return an upper bound on the events of one day (the Mesa model's event buffer rows).

    Per faction at most: a truce expiry, an attack, an attribution, a strike, a release and a
    truce start or end; plus an arrest, four directives, and per inject of the busiest day one
    event per faction.
    """
    days = world.injects[:, J_DAY]
    busiest = int(np.unique(days, return_counts=True)[1].max()) if days.size else 0
    return (8 + busiest) * world.n_factions + 8


def _count(records: np.ndarray, kind: int, targets: tuple[int, ...] | None = None) -> int:
    """Return the number of records of ``kind`` (on one of ``targets`` if given)."""
    hit = records[:, L.E_KIND] == kind
    if targets is not None:
        hit &= np.isin(records[:, L.E_TARGET], targets)
    return int(hit.sum())


def _grievance(agent: mesa.Agent) -> float | None:
    """Agent reporter: a militia's total grievance; None for the other agents."""
    return agent.grievance if isinstance(agent, Militia) else None


class EscalationModel(mesa.Model):
    """One replicate of the militia-state escalation model; ``step`` advances one day.

    Parameters
    ----------
    world : World or str or Path
        The compiled scenario, or the path of a scenario file (compiled once per process).
    rep : int
        Replicate index: with the scenario seed it fixes every draw of the model.
    rng : int, optional
        Seed of Mesa's own generators (``self.random``, ``self.rng``); default: the scenario
        seed plus ``rep``. The model's decisions do not use them: every draw is counter-based,
        a pure function of (seed, replicate, day, actor, decision) from ``sim.model.rng``, which
        is what makes this engine equal the kernel. They are seeded only so that anything a user
        adds on top (a shuffle, a visualisation) is reproducible too.
    """

    def __init__(self, world: World | str | Path, rep: int = 0, rng: int | None = None) -> None:
        world = as_world(world)
        super().__init__(rng=world.seed + rep if rng is None else rng)
        self.world = world
        self.rep = rep
        self.key = key_for(world.seed, rep)
        self.n_factions = world.n_factions
        self.us_code = V.us_actor(self.n_factions)
        self.pm_code = V.pm_actor(self.n_factions)
        self.day = -1
        self.g = world.g_before
        self.state = S.ReplicateState.initial(world.fp, world.g_before, day_capacity(world))
        self._days: list[np.ndarray] = []
        self.today = self.state.ev[:0].copy()
        # agents are created in index order; AgentSets keep insertion order, which ``step``
        # relies on (factions act in roster order, agencies MOIS..SL Office: ODD section 3)
        for i in range(self.n_factions):
            Militia(self, i)
        for a in range(V.N_AGENCIES):
            IranianAgency(self, a)
        USForces(self)
        PrimeMinister(self)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "attacks_us": lambda m: _count(m.today, V.K_ATTACK, V.US_TARGETS),
                "attacks_state": lambda m: _count(m.today, V.K_ATTACK, STATE_TARGETS),
                "us_strikes": lambda m: _count(m.today, V.K_US_STRIKE),
                "arrests": lambda m: _count(m.today, V.K_ARREST),
                "truce_active": lambda m: P.truce_active(m.state.fs),
                "directives_escalate": lambda m: int((m.state.af[:, S.AF_DIRECTIVE] == 1).sum()),
            },
            agent_reporters={"grievance": _grievance},
        )
        self.running = world.n_days > 0
        self.datacollector.collect(self)  # the state before day 0 (Mesa's step 0)

    # --- views ----------------------------------------------------------------------------------
    @property
    def militias(self) -> list[Militia]:
        """The factions in roster order."""
        return list(self.agents_by_type[Militia])

    @property
    def agencies(self) -> list[IranianAgency]:
        """The four agencies in index order."""
        return list(self.agents_by_type[IranianAgency])

    @property
    def us(self) -> USForces:
        """The US forces."""
        return self.agents_by_type[USForces][0]

    @property
    def pm(self) -> PrimeMinister:
        """The prime minister."""
        return self.agents_by_type[PrimeMinister][0]

    @property
    def revenge(self) -> float:
        """Iranian revenge motive."""
        return float(self.state.sc[S.SC_REVENGE])

    @property
    def fragmented(self) -> int:
        """1 once the Iranian command is fragmented."""
        return int(self.state.sc[S.SC_FRAGMENTED])

    @property
    def events(self) -> np.ndarray:
        """Every event record so far (kernel format: rows of ``E_*`` columns)."""
        s = self.state
        pending = s.ev[: min(s.ep[S.EP_COUNT], s.ep[S.EP_CAP])]
        return np.concatenate([*self._days, pending]).reshape(-1, L.N_ECOLS)

    def truce_active(self) -> int:
        """Return 1 if any faction is in a truce."""
        return P.truce_active(self.state.fs)

    # --- the day --------------------------------------------------------------------------------
    def run_phase(self, phase: int) -> None:
        """Run one phase of today (``sim.model.phases.DAY`` gives their order)."""
        w, s, day = self.world, self.state, self.day
        match phase:
            case P.PHASE_START_OF_DAY:
                P.start_of_day(day, self.g, w.fp, s.fs, s.fi, s.sc, s.ev, s.ep)
            case P.PHASE_INJECTS:
                P.apply_injects(
                    self.key, day, self.g, w.fp, w.injects, s.fs, s.fi, s.sc, s.si, s.ev, s.ep
                )
            # order matters for identity with the kernel (a strike or a truce changes what the
            # next actor sees), so each AgentSet runs ``do`` in index order, never ``shuffle_do``
            case P.PHASE_AGENCIES:
                self.agents_by_type[IranianAgency].do("step")
            case P.PHASE_MILITIAS:
                if Militia in self.agents_by_type:  # a scenario may have no factions
                    self.agents_by_type[Militia].do("step")
            case P.PHASE_US:
                self.agents_by_type[USForces].do("step")
            case P.PHASE_PM:
                self.agents_by_type[PrimeMinister].do("step")

    def step(self) -> None:
        """Advance one day through the phases of ``DAY``; collect the day's data."""
        self.day += 1
        self.g = P.params_on(
            self.day, self.world.g_before, self.world.g_after, self.world.switch_day
        )
        for phase in P.DAY:
            self.run_phase(phase)
        self._close_day()
        self.datacollector.collect(self)
        if self.day + 1 >= self.world.n_days:
            self.running = False

    def _close_day(self) -> None:
        """Move today's records out of the event buffer into the log."""
        ep = self.state.ep
        n = int(ep[S.EP_COUNT])
        if n > ep[S.EP_CAP]:
            raise RuntimeError(f"day {self.day}: {n} events exceed the day's buffer {ep[S.EP_CAP]}")
        self.today = self.state.ev[:n].copy()
        self._days.append(self.today)
        ep[S.EP_COUNT] = 0

    def run(self) -> np.ndarray:
        """Run the whole horizon and return the event records."""
        while self.running:
            self.step()
        return self.events


def run_mesa(world: World, rep_start: int, n_reps: int) -> tuple[np.ndarray, np.ndarray]:
    """Run replicates with the Mesa engine; same return shape as the kernel's ``run_kernel``."""
    records = [np.empty((0, L.N_ECOLS), dtype=np.int32)]
    reps: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for r in range(rep_start, rep_start + n_reps):
        ev = EscalationModel(world, r).run()
        records.append(ev)
        reps.append(np.full(len(ev), r, dtype=np.int64))
    return np.concatenate(records), np.concatenate(reps)


def run_mesa_design(
    world: World, design: Design, points: np.ndarray, reps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run the rows of a design with the Mesa engine; same return as ``run_kernel_design``.

    Row r is an ``EscalationModel`` of replicate ``reps[r]`` on the world with the parameters of
    point ``points[r]`` (``Design.world_at``).
    """
    points = np.asarray(points, dtype=np.int64)
    reps = np.asarray(reps, dtype=np.int64)
    design.check(world, points, reps)
    records = [np.empty((0, L.N_ECOLS), dtype=np.int32)]
    rows: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for r, (p, rep) in enumerate(zip(points, reps, strict=True)):
        ev = EscalationModel(design.world_at(world, int(p)), int(rep)).run()
        records.append(ev)
        rows.append(np.full(len(ev), r, dtype=np.int64))
    return np.concatenate(records), np.concatenate(rows)
