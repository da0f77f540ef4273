"""Batch engine: the daily phase loop over arrays, compiled with numba, parallel over replicates.

The kernel holds no model logic of its own: each replicate's state is the arrays of
``sim.model.state``, and each day runs the phases of ``sim.model.phases.DAY`` through the same
jitted turns and effects (``sim.model.phases``, ``sim.model.effects``) that the Mesa agents call
(``sim.engines.mesa``), with the same counter-based draws (``sim.model.rng``). For the same
scenario and seed both engines therefore write identical event logs
(``tests/engines/test_kernel.py`` checks it).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sim import vocab as V
from sim.engines.design import Design
from sim.model import layout as L
from sim.model import phases as P
from sim.model import rng
from sim.model.phases import DAY, params_on
from sim.model.state import EP_BASE, EP_CAP, EP_COUNT, N_EP, new_state
from sim.model.world import World


@njit(cache=True, _nrt=False)
def run_days(
    key,
    d0,
    d1,
    g_before,
    g_after,
    switch_day,
    fp,
    control,
    ap,
    injects,
    negotiation_days,
    fs,
    fi,
    sc,
    si,
    af,
    wk,
    ev,
    ep,
):
    """Run days ``d0 .. d1 - 1`` of one replicate on its state arrays (``sim.model.phases.DAY``).

    The one day loop: the kernel runs it from day 0 on a fresh state, the segment engine
    (``sim.engines.segment``) over a range of days on states it keeps between calls.

    Compiled without reference counting, with the turns and effects inlined into it (they are
    ``inline="always"``): it allocates nothing (see ``sim.model.phases``).
    """
    nf = fp.shape[0]
    for day in range(d0, d1):
        g = params_on(day, g_before, g_after, switch_day)
        for phase in DAY:
            if phase == P.PHASE_START_OF_DAY:
                P.start_of_day(day, g, fp, fs, fi, sc, ev, ep)
            elif phase == P.PHASE_INJECTS:
                P.apply_injects(key, day, g, fp, injects, fs, fi, sc, si, ev, ep)
            elif phase == P.PHASE_AGENCIES:
                for a in range(V.N_AGENCIES):
                    P.agency_turn(key, day, a, g, ap, negotiation_days, fs, sc, si, af, ev, ep)
            elif phase == P.PHASE_MILITIAS:
                for i in range(nf):
                    P.militia_turn(key, day, i, g, fp, control, fs, fi, sc, si, af, wk, ev, ep)
            elif phase == P.PHASE_US:
                P.us_turn(key, day, g, fs, fi, sc, ev, ep)
            elif phase == P.PHASE_PM:
                P.pm_turn(key, day, g, fp, fs, fi, sc, af, ev, ep)


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
    """Simulate one replicate; write its events into ``ev[base:base+cap]``; return the count.

    The replicate's state is the arrays of ``sim.model.state``; each day runs the phases of
    ``sim.model.phases.DAY`` in order, each phase's function or each actor's turn in index order.
    """
    fs, fi, sc, si, af, wk = new_state(fp, g_before)
    ep = np.zeros(N_EP, dtype=np.int64)
    ep[EP_BASE] = base
    ep[EP_CAP] = cap
    run_days(
        key,
        0,
        n_days,
        g_before,
        g_after,
        switch_day,
        fp,
        control,
        ap,
        injects,
        negotiation_days,
        fs,
        fi,
        sc,
        si,
        af,
        wk,
        ev,
        ep,
    )
    return ep[EP_COUNT]


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


@njit(cache=True, parallel=True)
def simulate_design(
    seed,
    points,
    reps,
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
    """Simulate the rows of a design in parallel: row r is replicate ``reps[r]`` at ``points[r]``.

    ``g_before``, ``g_after`` (P, N_G), ``fp`` (P, F, N_FP) and ``ap`` (P, N_AGENCIES, N_AP) stack
    the parameter points (``sim.engines.design.Design``). The draws are keyed by the replicate
    alone, so a replicate gets the same draws at every point (common random numbers). Returns
    ``ev`` and ``counts`` as ``simulate_batch`` does, with design rows in place of replicates.
    """
    n = points.shape[0]
    ev = np.empty((n * cap, L.N_ECOLS), dtype=np.int32)
    counts = np.zeros(n, dtype=np.int64)
    for r in prange(n):
        p = points[r]
        counts[r] = simulate_replicate(
            rng.replicate_key(seed, reps[r]),
            n_days,
            g_before[p],
            g_after[p],
            switch_day,
            fp[p],
            control,
            ap[p],
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
    records, rows = _gather(ev, counts, cap)
    return records, rows + rep_start


def run_kernel_design(
    world: World, design: Design, points: np.ndarray, reps: np.ndarray, cap: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run the rows of a design with the kernel; return (records, row index) as ``run_kernel``.

    Parameters
    ----------
    world : World
        The compiled scenario (its injects, control matrix, horizon and seed).
    design : Design
        The parameter points (``sim.engines.design``).
    points, reps : ndarray (n,) int
        Row r runs replicate ``reps[r]`` at point ``points[r]`` (``sim.engines.design.grid``
        crosses every point with the same replicates).
    cap : int, optional
        Initial event capacity per row, retried on overflow as in ``run_kernel``.

    Returns
    -------
    records : ndarray (N, N_ECOLS) int32
        Event records of all rows in row order.
    rows : ndarray (N,) int64
        The design row of each record.
    """
    points = np.ascontiguousarray(points, dtype=np.int64)
    reps = np.ascontiguousarray(reps, dtype=np.int64)
    design.check(world, points, reps)
    if cap is None:
        cap = event_capacity(world)
    while True:
        ev, counts = simulate_design(
            world.seed,
            points,
            reps,
            world.n_days,
            design.g_before,
            design.g_after,
            world.switch_day,
            design.fp,
            world.control,
            design.ap,
            world.injects,
            world.negotiation_days,
            cap,
        )
        if counts.max(initial=0) <= cap:
            break
        cap = int(counts.max()) + 16
    return _gather(ev, counts, cap)


def _gather(ev: np.ndarray, counts: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the records of each row's slot (``counts[r]`` rows from ``r * cap``) and their row."""
    n = counts.shape[0]
    starts = np.arange(n, dtype=np.int64) * cap
    # row numbers of each replicate's first counts[r] records
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(starts, counts) + offsets
    return ev[idx], np.repeat(np.arange(n, dtype=np.int64), counts)
