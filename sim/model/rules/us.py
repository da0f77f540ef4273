"""Decision rules of US forces: air defence, attribution, retaliation (ODD section 7).

Seeds: S3 JINSA brief (Nov 2021); S4 Reuters on Kadhimi's crackdown (autumn 2020).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import vocab as V

# Strike-rate multiplier of each doctrine: leadership targeting answers each attributable attack
# (S3's recommended posture); infrastructure and proportional strikes are rarer (S3: "the majority
# of Iranian-linked attacks ... have not triggered a military response").
DOCTRINE_RATE = np.array([0.0, 1.0, 1.0, 3.0])
# People killed by one endogenous US strike, (low, high) per strike type: 1 killed on 25 Feb 2021,
# 4 on 27 Jun 2021 (events.csv); leadership strikes kill commanders and escorts (the 3 Jan 2020
# strike killed Soleimani, Muhandis and their party). Forced strikes carry their documented toll.
STRIKE_KILLED = np.array([[1, 5], [1, 8], [2, 12]], dtype=np.int64)


@njit(cache=True)
def attribution_probability(claimed: int, direct: float, via_front: float) -> float:
    """Return the probability that the US attributes an attack to its parent faction.

    Source: S1: attacks claimed by "small armed groups bearing names never seen before ... a new
    tactic adopted by well-known factions to carry out attacks without bearing the
    consequences"; S2: "reining them in feels like chasing ghosts".
    """
    if claimed >= 0:
        return via_front
    return direct


@njit(cache=True)
def is_intercepted(
    u: float, weapon: int, target: int, ad_rocket: float, ad_drone: float, pm_ad_drone: float
) -> int:
    """Return 1 if air defence intercepts the attack.

    Source: events.csv 2021-06-06 ("2 drones shot down over Ain al-Asad; rocket intercepted over
    Baghdad airport"), 2022-01-03 (drones shot down at the Diplomatic Support Center), and
    2021-11-07 (3 drones on the PM's residence, 2 downed).
    """
    p = 0.0
    if target == V.T_US_BASE or target == V.T_US_EMBASSY:
        if weapon == V.W_ROCKET:
            p = ad_rocket
        elif weapon == V.W_DRONE:
            p = ad_drone
    elif target == V.T_PM and weapon == V.W_DRONE:
        p = pm_ad_drone
    if u < p:
        return 1
    return 0


@njit(cache=True)
def us_victims(u: float, killed: int, target: int, share: float) -> int:
    """Return how many of ``killed`` are US personnel or contractors (the red-line count).

    Source: events.csv 2019-12-27 (US contractor killed at K-1), 2020-03-11 (2 US and 1 UK
    service members); tally T18: of 11 killed, most were Iraqi civilians and contractors.
    """
    if killed <= 0:
        return 0
    if target != V.T_US_BASE and target != V.T_US_EMBASSY and target != V.T_CONVOY:
        return 0
    if u < share:
        return killed
    return 0


@njit(cache=True)
def strike_probability(
    doctrine: int,
    blame: float,
    strike_rate: float,
    us_killed: int,
    red_line: float,
    red_line_strike: float,
    cooldown_left: float,
) -> float:
    """Return the probability that the US strikes a faction today.

    Each doctrine answers accumulated attributed blame at its own rate; US deaths at or beyond
    the red line trigger a strike with probability ``red_line_strike``; no strike during the
    cooldown after the last one; doctrine "none" never strikes.

    Source: events.csv: the strikes of 29 Dec 2019 (after a US contractor's death on 27 Dec),
    12 Mar 2020 (after 2 US deaths on 11 Mar), 25 Feb 2021 (after the Erbil attack of 15 Feb that
    killed a foreign contractor and wounded a US soldier) and 27 Jun 2021 (after drone attacks);
    S3: most attacks "have not triggered a military response". The red line counts the US deaths
    of one attributed attack.
    """
    if doctrine == V.DOC_NONE or cooldown_left > 0.0:
        return 0.0
    p = 1.0 - math.exp(-strike_rate * DOCTRINE_RATE[doctrine] * blame)
    if red_line > 0.0 and us_killed >= red_line and red_line_strike > p:
        p = red_line_strike
    if p < 0.0:
        p = 0.0
    if p > 1.0:
        p = 1.0
    return p


@njit(cache=True)
def strike_type_of(doctrine: int) -> int:
    """Return the strike type (index into STRIKE_TYPES) a doctrine uses.

    Source: S3 contrasts infrastructure strikes ("a border control point and weapons storage
    facilities") with strikes "targeting leadership elements".
    """
    if doctrine == V.DOC_LEADERSHIP:
        return 2
    if doctrine == V.DOC_INFRASTRUCTURE:
        return 1
    return 0


@njit(cache=True)
def strike_casualties(u: float, strike_type: int) -> int:
    """Return the number killed by one US strike of the given type (uniform between bounds).

    Source: events.csv 2021-02-25 (1 killed), 2021-06-27 (4 killed). The 29 Dec 2019 strike
    (~25 KH killed) lies above these bounds; it is forced in the historical scenario with its
    documented toll.
    """
    lo = STRIKE_KILLED[strike_type, 0]
    hi = STRIKE_KILLED[strike_type, 1]
    k = lo + int(u * (hi - lo + 1))
    if k > hi:
        k = hi
    return k


@njit(cache=True)
def degrade(stock: float, fraction: float) -> float:
    """Return a stock after a strike destroys ``fraction`` of it (clipped to [0, stock]).

    Source: events.csv 2020-03-12 (strikes on 5 KH weapons storage facilities); S3: strikes
    that "did not significantly degrade the militias' personnel or leadership".
    """
    f = fraction
    if f < 0.0:
        f = 0.0
    if f > 1.0:
        f = 1.0
    return stock * (1.0 - f)


@njit(cache=True)
def strike_degrade_fraction(strike_type: int, infra: float, leadership: float) -> float:
    """Return the share of the target's stocks a strike of this type destroys.

    Proportional strikes destroy half of what an infrastructure strike does; leadership strikes
    destroy ``leadership``. Source: S3 (infrastructure vs leadership targeting).
    """
    if strike_type == 2:
        return leadership
    if strike_type == 1:
        return infra
    return 0.5 * infra


@njit(cache=True)
def discipline_after_strike(discipline: float, strike_type: int, hit: float) -> float:
    """Return a faction's discipline after a strike; only leadership strikes lower it.

    Source: S2: after Muhandis's death "it's harder and harder to track everyone" and groups grew
    "increasingly rogue": killing leaders loosens control of the rank and file.
    """
    if strike_type != 2:
        return discipline
    d = discipline * (1.0 - hit)
    if d < 0.0:
        d = 0.0
    return d
