"""Effects of truces: start (each party draws compliance), end, expiry (ODD 7.7, 6.2)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L
from sim.model import rng
from sim.model import rules as R
from sim.model.effects.common import emit
from sim.model.state import FI_COMPLIES, FS_TRUCE_UNTIL


@njit(cache=True)
def start_truce(
    key: np.uint64,
    day: int,
    fp: np.ndarray,
    party: int,
    days: float,
    compliance: float,
    forced: int,
    fs: np.ndarray,
    fi: np.ndarray,
    ev: np.ndarray,
    ep: np.ndarray,
) -> None:
    """Start a truce of ``days`` days for faction ``party`` (or every faction if -1).

    Each party draws whether it complies (``complies_with_truce``) with ``compliance``, or with
    its own ``truce_compliance`` if ``compliance`` is negative; log ``truce_start`` per party,
    detail ``comply`` or ``spoiler``.

    Source: tally T16 and events.csv 2020-10-10 (the factions' conditional truce), 2021-03-04
    (papal visit); S1 (the truce brokered through Iran's agencies); ODD 7.7.3.
    """
    for i in range(fs.shape[0]):
        if party >= 0 and i != party:
            continue
        fs[i, FS_TRUCE_UNTIL] = day + days
        c = compliance
        if c < 0.0:
            c = fp[i, L.F_TRUCE_COMPLIANCE]
        fi[i, FI_COMPLIES] = R.complies_with_truce(rng.draw(key, day, i, L.R_COMPLY), c)
        detail = V.D_COMPLY if fi[i, FI_COMPLIES] == 1 else V.D_SPOILER
        emit(ev, ep, day, i, V.K_TRUCE_START, -1, -1, -1, 0, -1, detail, forced, 0, 0)


@njit(cache=True)
def end_truce(
    day: int, party: int, detail: int, forced: int, fs: np.ndarray, ev: np.ndarray, ep: np.ndarray
) -> None:
    """End the truce of faction ``party`` (or of every faction if -1); log ``truce_end`` per party.

    Source: events.csv 2020-10-10 and tally T16 (the truce eroded by spoilers' attacks);
    ``truce_breaks`` (ODD 7.7.4) for a breakdown; a forced ``truce_end`` inject (ODD 6.2).
    """
    for i in range(fs.shape[0]):
        if party >= 0 and i != party:
            continue
        if fs[i, FS_TRUCE_UNTIL] >= 0:
            fs[i, FS_TRUCE_UNTIL] = -1.0
            emit(ev, ep, day, i, V.K_TRUCE_END, -1, -1, -1, 0, -1, detail, forced, 0, 0)


@njit(cache=True)
def expire_truces(day: int, fs: np.ndarray, ev: np.ndarray, ep: np.ndarray) -> None:
    """End every truce whose end day has come; log ``truce_end`` (detail ``expired``).

    Source: a truce is agreed for a term (tally T16: the October 2020 truce; S1); ODD section 3,
    phase 0.
    """
    for i in range(fs.shape[0]):
        if fs[i, FS_TRUCE_UNTIL] >= 0 and day >= fs[i, FS_TRUCE_UNTIL]:
            fs[i, FS_TRUCE_UNTIL] = -1.0
            emit(ev, ep, day, i, V.K_TRUCE_END, -1, -1, -1, 0, -1, V.D_EXPIRED, 0, 0, 0)
