"""Effects of the US forces: attribution, a strike, and the forced US events (ODD 6.2, 7.5)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L
from sim.model import rules as R
from sim.model.effects.common import emit
from sim.model.state import (
    FI_ATT_ATTRIBUTED,
    FS_BLAME,
    FS_DISCIPLINE,
    FS_GRIEVANCE_US,
    FS_STOCK_ROCKET,
    SC_COOLDOWN_UNTIL,
    SC_CREDIBILITY,
    SC_FRAGMENTED,
    SC_REVENGE,
    SC_THREAT_UNTIL,
)


@njit(cache=True)
def attribute(day: int, i: int, fs: np.ndarray, fi: np.ndarray, ev: np.ndarray, ep: np.ndarray):
    """Attribute faction ``i``'s attack today to it: its blame rises by 1; log ``attribution``.

    Source: ``attribution_probability`` (ODD 7.5.1): Washington blamed KH for the K-1 rocket
    attack and struck it (events.csv 2019-12-27, 2019-12-29).
    """
    fs[i, FS_BLAME] += 1.0
    fi[i, FI_ATT_ATTRIBUTED] = 1
    nf = fs.shape[0]
    emit(ev, ep, day, nf + V.N_AGENCIES, V.K_ATTRIBUTION, -1, -1, -1, 0, i, V.D_NONE, 0, 0, 0)


@njit(cache=True)
def strike(
    day: int,
    g: np.ndarray,
    i: int,
    strike_type: int,
    killed: int,
    forced: int,
    fs: np.ndarray,
    sc: np.ndarray,
    ev: np.ndarray,
    ep: np.ndarray,
) -> None:
    """Strike faction ``i``: apply every effect of a US strike, in order; log ``us_strike``.

    The target's stocks are degraded (``strike_degrade_fraction``, ``degrade``), its discipline
    updated (``discipline_after_strike``); its grievance against the US rises by
    ``us.strike_grievance`` and every other faction's by ``us.strike_grievance_allies``; its blame
    is reset; credibility rises by ``us.credibility_jump``; revenge rises by 1; the cooldown runs
    until ``day + us.cooldown_days``. Used for discretionary and forced (inject) strikes alike.

    Source: ODD 7.5 "Effects of a strike": S4 for the grievance increments (the strikes of
    29 Dec 2019 and 3 Jan 2020 united the factions against the US), S3 for credibility, S1 for
    revenge; events.csv 2019-12-29, 2020-03-12, 2021-02-25, 2021-06-27 for the strikes.
    """
    frac = R.strike_degrade_fraction(
        strike_type, g[L.G_US_DEGRADE_INFRASTRUCTURE], g[L.G_US_DEGRADE_LEADERSHIP]
    )
    for w in range(V.N_WEAPONS):
        fs[i, FS_STOCK_ROCKET + w] = R.degrade(fs[i, FS_STOCK_ROCKET + w], frac)
    fs[i, FS_DISCIPLINE] = R.discipline_after_strike(
        fs[i, FS_DISCIPLINE], strike_type, g[L.G_US_LEADERSHIP_DISCIPLINE_HIT]
    )
    nf = fs.shape[0]
    for j in range(nf):
        if j == i:
            fs[j, FS_GRIEVANCE_US] += g[L.G_US_STRIKE_GRIEVANCE]
        else:
            fs[j, FS_GRIEVANCE_US] += g[L.G_US_STRIKE_GRIEVANCE_ALLIES]
    fs[i, FS_BLAME] = 0.0
    sc[SC_CREDIBILITY] += g[L.G_US_CREDIBILITY_JUMP]
    sc[SC_REVENGE] += 1.0
    sc[SC_COOLDOWN_UNTIL] = day + g[L.G_US_COOLDOWN_DAYS]
    emit(
        ev,
        ep,
        day,
        nf + V.N_AGENCIES,
        V.K_US_STRIKE,
        -1,
        -1,
        -1,
        killed,
        i,
        V.D_PROPORTIONAL + strike_type,
        forced,
        0,
        0,
    )


@njit(cache=True)
def decapitation(day: int, g: np.ndarray, fs: np.ndarray, sc: np.ndarray, ev, ep) -> None:
    """Decapitate the Iranian command (forced): it fragments for good; grievance, revenge rise.

    Every faction's grievance against the US rises by ``us.strike_grievance``; revenge rises by 1;
    log ``decapitation`` (forced).

    Source: events.csv 2020-01-03 (Soleimani and al-Muhandis killed); S1 ("Qaani is the weakest
    link"), S2 ("increasingly rogue groups"); ODD 6.2.
    """
    sc[SC_FRAGMENTED] = 1.0
    nf = fs.shape[0]
    for i in range(nf):
        fs[i, FS_GRIEVANCE_US] += g[L.G_US_STRIKE_GRIEVANCE]
    sc[SC_REVENGE] += 1.0
    emit(ev, ep, day, nf + V.N_AGENCIES, V.K_DECAPITATION, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0)


@njit(cache=True)
def threat(day: int, days: float, nf: int, sc: np.ndarray, ev: np.ndarray, ep: np.ndarray):
    """Issue a forced US coercive threat standing for ``days`` days; log ``threat``.

    Source: events.csv 2020-09-20 (Pompeo threatens to close the embassy), 2020-12-20; ODD 6.2.
    """
    sc[SC_THREAT_UNTIL] = day + days
    emit(ev, ep, day, nf + V.N_AGENCIES, V.K_THREAT, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0)


@njit(cache=True)
def negotiation(day: int, nf: int, ev: np.ndarray, ep: np.ndarray) -> None:
    """Log a forced negotiation round (``negotiation``); no state changes.

    Its only effect is through ``appetite_on`` (the run-up to the round, read from the world's
    negotiation days). Source: S1, S3 (Vienna talks); ODD 6.2.
    """
    emit(ev, ep, day, nf + V.N_AGENCIES, V.K_NEGOTIATION, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0)
