"""Effects shared by every actor: logging an event, and the day's forgetting (ODD section 3).

An effect is a state transition: it changes the replicate's arrays (``sim.model.state``) and may
log an event. Decisions (whether, whom, how) are the rules of ``sim.model.rules``; the turns of
``sim.model.phases`` call the rules, then these effects.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model import layout as L
from sim.model import rules as R
from sim.model.state import EP_BASE, EP_CAP, EP_COUNT, SC_CREDIBILITY, SC_PRESSURE, SC_REVENGE


@njit(cache=True)
def emit(
    ev: np.ndarray,
    ep: np.ndarray,
    day: int,
    actor: int,
    kind: int,
    weapon: int,
    target: int,
    claimed: int,
    killed: int,
    subject: int,
    detail: int,
    forced: int,
    intercepted: int,
    us_killed: int,
) -> None:
    """Log one event: write its record into the buffer if there is room, and count it.

    Source: the event-log schema (``sim/results/events.py``; columns ``E_*`` of
    ``sim.model.layout``). A count above ``ep[EP_CAP]`` tells the caller to retry with more room.
    """
    n = ep[EP_COUNT]
    if n < ep[EP_CAP]:
        row = ep[EP_BASE] + n
        ev[row, L.E_DAY] = day
        ev[row, L.E_ACTOR] = actor
        ev[row, L.E_KIND] = kind
        ev[row, L.E_WEAPON] = weapon
        ev[row, L.E_TARGET] = target
        ev[row, L.E_CLAIMED] = claimed
        ev[row, L.E_KILLED] = killed
        ev[row, L.E_SUBJECT] = subject
        ev[row, L.E_DETAIL] = detail
        ev[row, L.E_FORCED] = forced
        ev[row, L.E_INTERCEPTED] = intercepted
        ev[row, L.E_US_KILLED] = us_killed
    ep[EP_COUNT] = n + 1


@njit(cache=True)
def forget_scalars(g: np.ndarray, sc: np.ndarray) -> None:
    """Decay US credibility, Iranian revenge and the PM's pressure by one day.

    Source: ``decay`` (ODD 7.1.1): credibility (S3), revenge (S1: the revenge motive after
    Soleimani's killing) and political pressure fade over weeks (events.csv 2020-01-26,
    2020-03-14: attacks resumed within weeks of the strikes).
    """
    sc[SC_CREDIBILITY] = R.decay(sc[SC_CREDIBILITY], g[L.G_US_CREDIBILITY_TAU])
    sc[SC_REVENGE] = R.decay(sc[SC_REVENGE], g[L.G_IR_REVENGE_TAU])
    sc[SC_PRESSURE] = R.decay(sc[SC_PRESSURE], g[L.G_PM_PRESSURE_TAU])
