"""The floor: the kernel's phase loop with every decision replaced by bare random draws.

The floor keeps what any implementation of the model must do per replicate: allocate the same
per-replicate state arrays, walk the same days and the same actors in the same phase order, make
the same number of counter-based draws (``sim.model.rng.draw``), and write the same number of event
records through the kernel's own emitter into the same int32 record matrix, in parallel over
replicates with ``prange``. What it drops is the model: no rule of ``sim.model.rules`` is called, no
``exp``, no target weights, no state dynamics. Conditional draws (an attack's target, weapon,
claim...; a US strike draw; a release draw) are made at the rates measured on the real model, and
the gate deciding whether they happen reuses a draw already made that day, so the floor makes no
extra draws. The kernel's time divided by the floor's time says how much the decision logic costs
on top of the bare machinery on this machine.

The rates come from ``rates_from_counts``: draws per decision code counted on the Mesa engine
(which makes exactly the kernel's draws: ``tests/engines/test_kernel.py`` proves the two
engines agree) and events per kind from the kernel's event log.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numba import njit, prange

from sim import vocab as V
from sim.engines.kernel import _emit
from sim.model import layout as L
from sim.model import rng
from sim.model.world import J_DAY, World

# indices into the rate vector
P_ATTACK = 0  # attacks per faction-day
P_KILL_DRAWS = 1  # share of attacks that draw casualties (not intercepted)
P_ATTRIBUTE_DRAW = 2  # attribution draws per attack (attacks on US targets)
P_ATTRIBUTION_EVENT = 3  # attribution events per attribution draw
Q_STRIKE = 4  # strike draws per faction-day
P_STRIKE_EVENT = 5  # model-decided strikes per strike draw
Q_RELEASE = 6  # release draws per faction-day
Q_ARREST = 7  # arrest draws per day
Q_MEDIATE = 8  # mediation draws per day
Q_MISC = 9  # truce compliance and breakdown draws per day
Q_DIRECTIVE = 10  # directive (stance) draws per agency-day
P_DIRECTIVE_EVENT = 11  # directive events per directive draw
P_OTHER_EVENT = 12  # all other events per day beyond one per inject row
N_RATES = 13

RATE_NAMES = (
    "attack_per_faction_day",
    "kill_draws_per_attack",
    "attribution_draws_per_attack",
    "attribution_events_per_draw",
    "strike_draws_per_faction_day",
    "strikes_per_strike_draw",
    "release_draws_per_faction_day",
    "arrest_draws_per_day",
    "mediation_draws_per_day",
    "truce_draws_per_day",
    "directive_draws_per_agency_day",
    "directive_events_per_directive_draw",
    "other_events_per_day",
)


def _share(num: float, den: float) -> float:
    """Return ``num / den`` clipped to [0, 1] (0 when ``den`` is 0)."""
    if den <= 0:
        return 0.0
    return float(min(max(num / den, 0.0), 1.0))


def rates_from_counts(
    draws_per_rep: dict[int, float],
    events_per_rep: dict[int, float],
    forced_strikes_per_rep: float,
    n_days: int,
    n_factions: int,
    n_inject_rows: int,
) -> np.ndarray:
    """Return the floor's rate vector from per-replicate counts measured on the real model.

    Parameters
    ----------
    draws_per_rep : dict of int to float
        Mean draws per replicate for each decision code (``sim.model.layout`` R_* codes).
    events_per_rep : dict of int to float
        Mean events per replicate for each kind (``sim.model.layout`` K_* codes).
    forced_strikes_per_rep : float
        Mean forced (injected) US strikes per replicate, included in ``K_US_STRIKE``.
    n_days, n_factions : int
        Days per replicate and factions.
    n_inject_rows : int
        Rows of the world's inject matrix (the floor emits one forced event per row).

    Returns
    -------
    numpy.ndarray
        Rates indexed by ``P_ATTACK`` ... ``P_OTHER_EVENT``, each clipped to [0, 1].
    """
    d, e = draws_per_rep, events_per_rep
    fd = n_days * n_factions
    attack_draws = d.get(L.R_TARGET, 0.0)
    strikes = e.get(V.K_US_STRIKE, 0.0) - forced_strikes_per_rep
    r = np.zeros(N_RATES)
    r[P_ATTACK] = _share(e.get(V.K_ATTACK, 0.0), fd)
    r[P_KILL_DRAWS] = _share(d.get(L.R_KILL, 0.0), attack_draws)
    r[P_ATTRIBUTE_DRAW] = _share(d.get(L.R_ATTRIBUTE, 0.0), attack_draws)
    r[P_ATTRIBUTION_EVENT] = _share(
        e.get(V.K_ATTRIBUTION, 0.0) * attack_draws,
        d.get(L.R_ATTRIBUTE, 0.0) * e.get(V.K_ATTACK, 0.0),
    )
    r[Q_STRIKE] = _share(d.get(L.R_STRIKE, 0.0), fd)
    r[P_STRIKE_EVENT] = _share(d.get(L.R_STRIKE_KILLED, 0.0), d.get(L.R_STRIKE, 0.0))
    r[Q_RELEASE] = _share(d.get(L.R_RELEASE, 0.0), fd)
    r[Q_ARREST] = _share(d.get(L.R_ARREST, 0.0), n_days)
    r[Q_MEDIATE] = _share(d.get(L.R_MEDIATE, 0.0), n_days)
    r[Q_MISC] = _share(d.get(L.R_COMPLY, 0.0) + d.get(L.R_BREAKDOWN, 0.0), n_days)
    r[Q_DIRECTIVE] = _share(d.get(L.R_DIRECTIVE, 0.0), n_days * V.N_AGENCIES)
    r[P_DIRECTIVE_EVENT] = _share(e.get(V.K_DIRECTIVE, 0.0), d.get(L.R_DIRECTIVE, 0.0))
    modelled = (
        e.get(V.K_ATTACK, 0.0)
        + e.get(V.K_ATTRIBUTION, 0.0)
        + e.get(V.K_DIRECTIVE, 0.0)
        + strikes
        + n_inject_rows
    )
    r[P_OTHER_EVENT] = _share(sum(e.values()) - modelled, n_days)
    return r


def count_model_draws(
    world: World, rep_start: int, n_reps: int
) -> tuple[dict[int, int], np.ndarray]:
    """Run Mesa replicates counting every draw by decision code.

    The Mesa engine makes exactly the kernel's draws (same rules, same phase order), so these
    are the kernel's draw counts too.

    Parameters
    ----------
    world : World
        The compiled scenario.
    rep_start, n_reps : int
        The replicate range.

    Returns
    -------
    counts : dict of int to int
        Total draws per decision code.
    records : numpy.ndarray (N, N_ECOLS) int32
        The event records of those replicates, in replicate order.
    """
    from sim.engines.mesa.model import EscalationModel

    counts: Counter[int] = Counter()

    class CountingModel(EscalationModel):
        def draw(self, actor: int, decision: int) -> float:
            counts[decision] += 1
            return super().draw(actor, decision)

    records: list[tuple[int, ...]] = []
    for r in range(rep_start, rep_start + n_reps):
        records.extend(CountingModel(world, r).run())
    return dict(counts), np.array(records, dtype=np.int32).reshape(-1, L.N_ECOLS)


@njit(cache=True, inline="always")
def _event(ev, base, cap, n, day, actor, kind, target, subject, forced):
    """Emit one record through the kernel's emitter (same layout, same capacity check)."""
    return _emit(
        ev, base, cap, n, day, actor, kind, -1, target, -1, 0, subject, V.D_NONE, forced, 0, 0
    )


@njit(cache=True)
def floor_replicate(key, n_days, nf, injects, rates, ev, base, cap):
    """Run one floor replicate; return (events emitted, draws made, sum of the draws)."""
    # the kernel's per-replicate state arrays, allocated as it allocates them (those the floor
    # never reads again carry a leading underscore)
    stocks = np.empty((nf, V.N_WEAPONS))
    _excitation = np.zeros(nf)
    g_us = np.empty(nf)
    g_state = np.empty(nf)
    discipline = np.empty(nf)
    _blame = np.zeros(nf)
    _detained = np.zeros(nf, dtype=np.int64)
    _truce_until = np.full(nf, -1.0)
    _complies = np.zeros(nf, dtype=np.int64)
    att_target = np.full(nf, -1, dtype=np.int64)
    att_claimed = np.full(nf, -1, dtype=np.int64)
    att_killed = np.zeros(nf, dtype=np.int64)
    att_us_killed = np.zeros(nf, dtype=np.int64)
    att_attributed = np.zeros(nf, dtype=np.int64)
    directive = np.zeros(V.N_AGENCIES, dtype=np.int64)
    gate = np.zeros(nf)
    for i in range(nf):
        for w in range(V.N_WEAPONS):
            stocks[i, w] = 0.0
        g_us[i] = 0.0
        g_state[i] = 0.0
        discipline[i] = 0.0
    pm = nf + V.N_AGENCIES + 1
    us = nf + V.N_AGENCIES
    n = 0
    n_draws = 0
    acc = 0.0
    jp = 0
    n_inj = injects.shape[0]
    for day in range(n_days):
        # phase 0: the daily reset of per-day state
        for i in range(nf):
            att_target[i] = -1
            att_claimed[i] = -1
            att_killed[i] = 0
            att_us_killed[i] = 0
            att_attributed[i] = 0
        # phase 1: one forced event per inject row dated today
        while jp < n_inj and injects[jp, J_DAY] == day:
            n = _event(ev, base, cap, n, day, us, V.K_NEGOTIATION, -1, -1, 1)
            jp += 1
        # phase 2: a reconsideration draw per agency; a stance draw and a directive event at
        # the measured rates
        day_gate = 0.0
        day_gate2 = 0.0
        day_gate3 = 0.0
        for a in range(V.N_AGENCIES):
            u1 = rng.draw(key, day, nf + a, L.R_REDRAW)
            n_draws += 1
            acc += u1
            if a == 0:
                day_gate = u1
            elif a == 1:
                day_gate2 = u1
            elif a == 2:
                day_gate3 = u1
            if u1 < rates[Q_DIRECTIVE]:
                u2 = rng.draw(key, day, nf + a, L.R_DIRECTIVE)
                n_draws += 1
                acc += u2
                if u2 < rates[P_DIRECTIVE_EVENT]:
                    directive[a] = 1 - directive[a]
                    n = _event(ev, base, cap, n, day, nf + a, V.K_DIRECTIVE, -1, -1, 0)
        # phase 3: noise and attack draws per faction; an attack's draws at the measured rate
        for i in range(nf):
            u_noise = rng.draw(key, day, i, L.R_NOISE)
            u_att = rng.draw(key, day, i, L.R_ATTACK)
            n_draws += 2
            acc += u_noise + u_att
            gate[i] = u_noise
            if u_att < rates[P_ATTACK]:
                u_t = rng.draw(key, day, i, L.R_TARGET)
                acc += rng.draw(key, day, i, L.R_WEAPON)
                acc += rng.draw(key, day, i, L.R_CLAIM)
                u_i = rng.draw(key, day, i, L.R_INTERCEPT)
                acc += u_t + u_i
                n_draws += 4
                if u_i < rates[P_KILL_DRAWS]:
                    acc += rng.draw(key, day, i, L.R_KILL)
                    acc += rng.draw(key, day, i, L.R_KILL_COUNT)
                    n_draws += 2
                acc += rng.draw(key, day, i, L.R_US_VICTIM)
                n_draws += 1
                att_target[i] = V.T_US_BASE if u_t < rates[P_ATTRIBUTE_DRAW] else V.T_STATE
                n = _event(ev, base, cap, n, day, i, V.K_ATTACK, att_target[i], -1, 0)
        # phase 4: attribution draws for attacks on US targets; strike draws at the measured rate
        for i in range(nf):
            if att_target[i] == V.T_US_BASE:
                u = rng.draw(key, day, i, L.R_ATTRIBUTE)
                n_draws += 1
                acc += u
                if u < rates[P_ATTRIBUTION_EVENT]:
                    att_attributed[i] = 1
                    n = _event(ev, base, cap, n, day, us, V.K_ATTRIBUTION, -1, i, 0)
        for i in range(nf):
            if gate[i] < rates[Q_STRIKE]:
                u = rng.draw(key, day, i, L.R_STRIKE)
                n_draws += 1
                acc += u
                if u < rates[P_STRIKE_EVENT]:
                    acc += rng.draw(key, day, i, L.R_STRIKE_KILLED)
                    n_draws += 1
                    n = _event(ev, base, cap, n, day, us, V.K_US_STRIKE, -1, i, 0)
        # phase 5: the prime minister's draws at the measured rates; other events
        for i in range(nf):
            if 1.0 - gate[i] < rates[Q_RELEASE]:
                acc += rng.draw(key, day, i, L.R_RELEASE)
                n_draws += 1
        if day_gate < rates[Q_ARREST]:
            acc += rng.draw(key, day, pm, L.R_ARREST)
            n_draws += 1
        if 1.0 - day_gate < rates[Q_MEDIATE]:
            acc += rng.draw(key, day, pm, L.R_MEDIATE)
            n_draws += 1
        if day_gate2 < rates[Q_MISC]:
            acc += rng.draw(key, day, pm, L.R_COMPLY)
            n_draws += 1
        if day_gate3 < rates[P_OTHER_EVENT]:
            n = _event(ev, base, cap, n, day, pm, V.K_RELEASE, -1, 0, 0)
    return n, n_draws, acc


@njit(cache=True, parallel=True)
def floor_batch(seed, rep_start, n_reps, n_days, nf, injects, rates, cap):
    """Run floor replicates in parallel, like ``sim.engines.kernel.simulate_batch``.

    Returns
    -------
    ev : ndarray (n_reps * cap, N_ECOLS) int32
        Event records.
    counts, draws : ndarray (n_reps,) int64
        Events emitted and draws made by each replicate.
    sums : ndarray (n_reps,) float64
        Sum of each replicate's draws (keeps every draw live).
    """
    ev = np.empty((n_reps * cap, L.N_ECOLS), dtype=np.int32)
    counts = np.zeros(n_reps, dtype=np.int64)
    draws = np.zeros(n_reps, dtype=np.int64)
    sums = np.zeros(n_reps)
    for r in prange(n_reps):
        key = rng.replicate_key(seed, rep_start + r)
        c, d, s = floor_replicate(key, n_days, nf, injects, rates, ev, r * cap, cap)
        counts[r] = c
        draws[r] = d
        sums[r] = s
    return ev, counts, draws, sums
