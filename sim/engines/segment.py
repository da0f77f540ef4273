"""Segment engine: run days ``[d0, d1)`` of many replicates from given states, for particle filters.

``sim.engines.kernel`` always runs a replicate from day 0 on a fresh state. A particle filter
needs to stop every replicate at an observation, resample the replicates (their state arrays
of ``sim.model.state`` and their parameter points) and continue the children with their own
random keys. This module holds the replicates' states stacked (``States``), runs a segment of
days on them in place with the kernel's own day loop (``sim.engines.kernel.run_days``, over a
day range), and copies states by ancestor index.

Keys: row r draws with ``keys[r]``. Starting from ``initial`` with
``keys = replicate_keys(seed, reps)`` and running consecutive segments without resampling
reproduces ``run_kernel_design`` (``run_kernel`` with one point) record for record
(``tests/engines/test_segment.py``); after resampling, the caller gives the children fresh keys
(``replicate_keys(child_seed, ...)``) so that copies of one parent diverge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from sim import vocab as V
from sim.engines.design import Design
from sim.engines.kernel import run_days
from sim.model import layout as L
from sim.model import rng
from sim.model.state import EP_BASE, EP_CAP, EP_COUNT, N_EP, new_state
from sim.model.world import World


@njit(cache=True, parallel=True)
def _segment(
    keys,
    points,
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
    cap,
):
    n = points.shape[0]
    ev = np.empty((n * cap, L.N_ECOLS), dtype=np.int32)
    counts = np.zeros(n, dtype=np.int64)
    for r in prange(n):
        p = points[r]
        ep = np.zeros(N_EP, dtype=np.int64)
        ep[EP_BASE] = r * cap
        ep[EP_CAP] = cap
        wk = np.zeros(V.N_TARGETS)
        run_days(
            keys[r],
            d0,
            d1,
            g_before[p],
            g_after[p],
            switch_day,
            fp[p],
            control,
            ap[p],
            injects,
            negotiation_days,
            fs[r],
            fi[r],
            sc[r],
            si[r],
            af[r],
            wk,
            ev,
            ep,
        )
        counts[r] = ep[EP_COUNT]
    return ev, counts


@njit(cache=True)
def _initial(points, g_before, fp, fs, fi, sc, si, af):
    for r in range(points.shape[0]):
        p = points[r]
        a, b, c, d, e, _wk = new_state(fp[p], g_before[p])
        fs[r] = a
        fi[r] = b
        sc[r] = c
        si[r] = d
        af[r] = e


@njit(cache=True)
def _keys(seed, reps):
    out = np.empty(reps.shape[0], dtype=np.uint64)
    for r in range(reps.shape[0]):
        out[r] = rng.replicate_key(seed, reps[r])
    return out


def replicate_keys(seed: int, reps: np.ndarray) -> np.ndarray:
    """Return the kernel's replicate keys ``replicate_key(seed, rep)`` of each ``reps`` entry."""
    return _keys(int(seed), np.ascontiguousarray(reps, dtype=np.int64))


@dataclass
class States:
    """Stacked state arrays of N replicates (row r = replicate r; ``sim.model.state``).

    Attributes
    ----------
    fs, fi, sc, si, af : ndarray
        ``(N, ...)`` stacks of the per-replicate arrays (``wk`` is scratch and not kept).
    points : ndarray (N,) int64
        The design point (parameter set) each replicate runs at.
    keys : ndarray (N,) uint64
        The random key each replicate draws with.
    day : int
        The next day to simulate (all replicates are at the same day).
    """

    fs: np.ndarray
    fi: np.ndarray
    sc: np.ndarray
    si: np.ndarray
    af: np.ndarray
    points: np.ndarray
    keys: np.ndarray
    day: int = 0

    @classmethod
    def initial(cls, world: World, design: Design, points: np.ndarray, keys: np.ndarray) -> States:
        """Return the day-0 states of replicates at ``points`` drawing with ``keys``."""
        points = np.ascontiguousarray(points, dtype=np.int64)
        design.check(world, points, np.zeros_like(points))
        n = points.shape[0]
        fs0, fi0, sc0, si0, af0, _ = new_state(world.fp, world.g_before)
        st = cls(
            np.empty((n, *fs0.shape)),
            np.empty((n, *fi0.shape), dtype=np.int64),
            np.empty((n, *sc0.shape)),
            np.empty((n, *si0.shape), dtype=np.int64),
            np.empty((n, *af0.shape)),
            points,
            np.ascontiguousarray(keys, dtype=np.uint64),
        )
        _initial(points, design.g_before, design.fp, st.fs, st.fi, st.sc, st.si, st.af)
        return st

    def __len__(self) -> int:
        """Return the number of replicates."""
        return int(self.points.shape[0])

    def copy(self) -> States:
        """Return an independent copy."""
        return States(
            self.fs.copy(),
            self.fi.copy(),
            self.sc.copy(),
            self.si.copy(),
            self.af.copy(),
            self.points.copy(),
            self.keys.copy(),
            self.day,
        )

    def take(self, ancestors: np.ndarray, keys: np.ndarray) -> States:
        """Return copies of the states of ``ancestors`` (one row per child) with ``keys``."""
        a = np.asarray(ancestors, dtype=np.int64)
        return States(
            self.fs[a].copy(),
            self.fi[a].copy(),
            self.sc[a].copy(),
            self.si[a].copy(),
            self.af[a].copy(),
            self.points[a].copy(),
            np.ascontiguousarray(keys, dtype=np.uint64),
            self.day,
        )


def run_segment(
    world: World, design: Design, states: States, d1: int, cap: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run days ``states.day .. d1 - 1`` of every replicate in place; return their records.

    Parameters
    ----------
    world : World
        The compiled scenario (injects, control matrix, policy switch day).
    design : Design
        The parameter points the replicates' ``points`` index.
    states : States
        Advanced in place to day ``d1`` (left unchanged if an error is raised).
    d1 : int
        First day not run (at most ``world.n_days``).
    cap : int, optional
        Initial event capacity per replicate; doubled and retried on overflow from a copy of
        the states (a retry reproduces the same events).

    Returns
    -------
    records : ndarray (N, N_ECOLS) int32
        Event records of the segment, replicate by replicate, as ``run_kernel``'s.
    rows : ndarray (N,) int64
        The replicate (row of ``states``) of each record.
    """
    d0 = states.day
    if not (0 <= d0 <= d1 <= world.n_days):
        raise ValueError(f"segment: expected {d0} <= d1 <= {world.n_days}; found d1 = {d1}")
    if cap is None:
        cap = max(64, (d1 - d0) * (world.n_factions + 2) // 4)
    while True:
        work = states.copy()
        ev, counts = _segment(
            work.keys,
            work.points,
            d0,
            d1,
            design.g_before,
            design.g_after,
            world.switch_day,
            design.fp,
            world.control,
            design.ap,
            world.injects,
            world.negotiation_days,
            work.fs,
            work.fi,
            work.sc,
            work.si,
            work.af,
            cap,
        )
        if counts.max(initial=0) <= cap:
            break
        cap = int(counts.max()) + 16
    states.fs, states.fi, states.sc, states.si, states.af = (
        work.fs,
        work.fi,
        work.sc,
        work.si,
        work.af,
    )
    states.day = d1
    n = counts.shape[0]
    starts = np.arange(n, dtype=np.int64) * cap
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(starts, counts) + offsets
    return ev[idx], np.repeat(np.arange(n, dtype=np.int64), counts)


__all__ = ["States", "replicate_keys", "run_segment"]
