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

from sim.model import layout as L
from sim.model import rng
from sim.model.phases import DAY, params_on, run_phase
from sim.model.state import EP_BASE, EP_CAP, EP_COUNT, N_EP, new_state
from sim.model.world import World


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
    ``sim.model.phases.DAY`` in order, each for every actor it concerns (``run_phase``).
    """
    fs, fi, sc, si, af, wk = new_state(fp, g_before)
    ep = np.zeros(N_EP, dtype=np.int64)
    ep[EP_BASE] = base
    ep[EP_CAP] = cap
    for day in range(n_days):
        g = params_on(day, g_before, g_after, switch_day)
        for phase in DAY:
            run_phase(
                phase,
                key,
                day,
                g,
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
