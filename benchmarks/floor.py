"""The floor: the kernel's phase loop with every decision replaced by bare random draws.

The floor keeps what any implementation of the model must do per replicate: allocate the same
per-replicate state arrays (``sim.model.state``: ``fs, fi, sc, si, af, wk`` and the event buffer
position ``ep``), walk the same days and the same actors in the same phase order, make the same
number of counter-based draws (``sim.model.rng.draw``), and write the same number of event records
through the model's own emitter (``sim.model.effects.common.emit``, which writes at
``ep[EP_BASE] + ep[EP_COUNT]`` while below ``ep[EP_CAP]`` and counts every record) into the same
int32 record matrix, in parallel over replicates with ``prange``. Like the kernel, it allocates
the state in one function and runs the day loop in another compiled without reference counting.
What it drops is the model: no rule of ``sim.model.rules``, no turn of ``sim.model.phases`` and
no effect other than ``emit`` is called; no ``exp``, no target weights, no state dynamics.
Conditional draws (an attack's target, weapon, claim...; a US strike draw; a release draw) are
made at the rates measured on the real model, and the gate deciding whether they happen reuses a
draw already made that day, so the floor makes no extra draws. The kernel's time divided by the
floor's time says how much the decision logic costs on top of the bare machinery on this machine.

The rates come from ``rates_from_counts``: draws per decision code counted on the Mesa engine
(``count_model_draws``: the Mesa model run with numba's JIT disabled, in a child process, with
``sim.model.rng.draw`` wrapped by a counter; its records equal the kernel's, which
``tests/test_benchmarks.py`` checks) and events per kind from the kernel's event log.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from numba import njit, prange

from sim import vocab as V
from sim.model import layout as L
from sim.model import rng
from sim.model import state as S
from sim.model.effects.common import emit
from sim.model.world import J_DAY, World

# the floor keeps each faction's noise draw of the day (its gate) in this column of ``fs``, a
# column the floor never uses otherwise
FS_NOISE_GATE = S.FS_EXCITATION

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

    The turns the Mesa agents call are jitted, so a draw cannot be intercepted in a compiled run.
    The replicates therefore run in a new Python process with ``NUMBA_DISABLE_JIT=1``: the turns
    of ``sim.model.phases`` and the effects then run as plain Python and look ``rng.draw`` up on
    the module ``sim.model.rng`` at each call, where a counting wrapper replaces it. Those are the
    kernel's draws (same turns, same phase order): ``tests/test_benchmarks.py`` checks that the
    records of the counted run equal the kernel's.

    Parameters
    ----------
    world : World
        The compiled scenario (pickled to the child process).
    rep_start, n_reps : int
        The replicate range.

    Returns
    -------
    counts : dict of int to int
        Total draws per decision code.
    records : numpy.ndarray (N, N_ECOLS) int32
        The event records of those replicates, in replicate order.

    Raises
    ------
    RuntimeError
        If the child process fails.
    """
    with tempfile.TemporaryDirectory(prefix="escsim-floor-count-") as tmp:
        src, dst = Path(tmp) / "world.pkl", Path(tmp) / "counts.pkl"
        src.write_bytes(pickle.dumps(world))
        env = dict(os.environ, NUMBA_DISABLE_JIT="1")
        cmd = [sys.executable, str(Path(__file__).resolve()), str(src), str(dst)]
        proc = subprocess.run(
            [*cmd, str(rep_start), str(n_reps)], env=env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"counting the model's draws failed:\n{proc.stderr[-2000:]}")
        counts, records = pickle.loads(dst.read_bytes())
    return counts, records


def _count_in_this_process(
    world: World, rep_start: int, n_reps: int
) -> tuple[dict[int, int], np.ndarray]:
    """Run Mesa replicates with ``sim.model.rng.draw`` replaced by a counting wrapper.

    Only meaningful with the JIT disabled (compiled turns bind the draw at compile time), so it
    refuses to run otherwise.
    """
    import numba

    from sim.engines.mesa.model import EscalationModel

    if not numba.config.DISABLE_JIT:
        raise RuntimeError("draws can be counted only with NUMBA_DISABLE_JIT=1")
    counts: Counter[int] = Counter()
    plain = rng.draw

    def counting_draw(key, day: int, actor: int, decision: int) -> float:
        counts[int(decision)] += 1
        return plain(key, day, actor, decision)

    rng.draw = counting_draw
    try:
        records: list[np.ndarray] = [np.empty((0, L.N_ECOLS), dtype=np.int32)]
        for r in range(rep_start, rep_start + n_reps):
            records.append(np.asarray(EscalationModel(world, r).run(), dtype=np.int32))
    finally:
        rng.draw = plain
    return dict(counts), np.concatenate(records).reshape(-1, L.N_ECOLS)


@njit(cache=True, inline="always", _nrt=False)
def _event(ev, ep, day, actor, kind, target, subject, forced):
    """Emit one record through the model's emitter (same layout, same capacity check)."""
    emit(ev, ep, day, actor, kind, -1, target, -1, 0, subject, V.D_NONE, forced, 0, 0)


@njit(cache=True)
def floor_replicate(key, n_days, nf, injects, rates, ev, base, cap):
    """Run one floor replicate; return (events emitted, draws made, sum of the draws).

    Allocates the kernel's per-replicate state arrays (``sim.model.state``: ``fs, fi, sc, si, af,
    wk`` and the buffer position ``ep``), then runs the day loop in ``_floor_days`` without
    reference counting, as ``sim.engines.kernel.simulate_replicate`` runs ``run_days``.
    """
    fs = np.zeros((nf, S.N_FS))
    fi = np.zeros((nf, S.N_FI), dtype=np.int64)
    sc = np.zeros(S.N_SC)
    si = np.zeros(S.N_SI, dtype=np.int64)
    af = np.zeros((V.N_AGENCIES, S.N_AF))
    wk = np.zeros(V.N_TARGETS)
    ep = np.zeros(S.N_EP, dtype=np.int64)
    ep[S.EP_BASE] = base
    ep[S.EP_CAP] = cap
    out = np.zeros(2)  # draws made, sum of the draws
    _floor_days(key, n_days, nf, injects, rates, fs, fi, sc, si, af, wk, ev, ep, out)
    return ep[S.EP_COUNT], int(out[0]), out[1]


@njit(cache=True, _nrt=False)
def _floor_days(key, n_days, nf, injects, rates, fs, fi, sc, si, af, wk, ev, ep, out):
    """Run the floor's days on the state arrays; add draws made and their sum into ``out``.

    ``fs[:, FS_NOISE_GATE]`` keeps each faction's noise draw of the day (the gate reused for its
    strike and release draws); ``af[:, AF_DIRECTIVE]`` the agencies' stances; ``fi`` today's
    attack record, reset at the start of each day as the kernel resets it.
    """
    pm = nf + V.N_AGENCIES + 1
    us = nf + V.N_AGENCIES
    n_draws = 0
    acc = 0.0
    n_inj = injects.shape[0]
    for day in range(n_days):
        # phase 0: the daily reset of per-day state
        for i in range(nf):
            fi[i, S.FI_ATT_TARGET] = -1
            fi[i, S.FI_ATT_CLAIMED] = -1
            fi[i, S.FI_ATT_KILLED] = 0
            fi[i, S.FI_ATT_US_KILLED] = 0
            fi[i, S.FI_ATT_ATTRIBUTED] = 0
        # phase 1: one forced event per inject row dated today
        while si[S.SI_NEXT_INJECT] < n_inj and injects[si[S.SI_NEXT_INJECT], J_DAY] == day:
            _event(ev, ep, day, us, V.K_NEGOTIATION, -1, -1, 1)
            si[S.SI_NEXT_INJECT] += 1
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
                    af[a, S.AF_DIRECTIVE] = 1.0 - af[a, S.AF_DIRECTIVE]
                    _event(ev, ep, day, nf + a, V.K_DIRECTIVE, -1, -1, 0)
        # phase 3: noise and attack draws per faction; an attack's draws at the measured rate
        for i in range(nf):
            u_noise = rng.draw(key, day, i, L.R_NOISE)
            u_att = rng.draw(key, day, i, L.R_ATTACK)
            n_draws += 2
            acc += u_noise + u_att
            fs[i, FS_NOISE_GATE] = u_noise
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
                t = V.T_US_BASE if u_t < rates[P_ATTRIBUTE_DRAW] else V.T_STATE
                fi[i, S.FI_ATT_TARGET] = t
                _event(ev, ep, day, i, V.K_ATTACK, t, -1, 0)
        # phase 4: attribution draws for attacks on US targets; strike draws at the measured rate
        for i in range(nf):
            if fi[i, S.FI_ATT_TARGET] == V.T_US_BASE:
                u = rng.draw(key, day, i, L.R_ATTRIBUTE)
                n_draws += 1
                acc += u
                if u < rates[P_ATTRIBUTION_EVENT]:
                    fi[i, S.FI_ATT_ATTRIBUTED] = 1
                    _event(ev, ep, day, us, V.K_ATTRIBUTION, -1, i, 0)
        for i in range(nf):
            if fs[i, FS_NOISE_GATE] < rates[Q_STRIKE]:
                u = rng.draw(key, day, i, L.R_STRIKE)
                n_draws += 1
                acc += u
                if u < rates[P_STRIKE_EVENT]:
                    acc += rng.draw(key, day, i, L.R_STRIKE_KILLED)
                    n_draws += 1
                    _event(ev, ep, day, us, V.K_US_STRIKE, -1, i, 0)
        # phase 5: the prime minister's draws at the measured rates; other events
        for i in range(nf):
            if 1.0 - fs[i, FS_NOISE_GATE] < rates[Q_RELEASE]:
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
            _event(ev, ep, day, pm, V.K_RELEASE, -1, 0, 0)
    out[0] += n_draws
    out[1] += acc


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


if __name__ == "__main__":  # the child process of ``count_model_draws``
    _src, _dst, _start, _n = sys.argv[1:5]
    _world = pickle.loads(Path(_src).read_bytes())
    Path(_dst).write_bytes(pickle.dumps(_count_in_this_process(_world, int(_start), int(_n))))
