"""Decision rules of the prime minister: raids, releases, mediation, truces (ODD section 7).

Seeds: S2 Washington Post (Jul 2020); S4 Reuters on Kadhimi's crackdown (autumn 2020).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import vocab as V


@njit(cache=True)
def pressure_from_attack(target: int, killed: int, us_killed: int) -> float:
    """Return the political pressure on the PM that one attack adds.

    Attacks with US deaths count double (US pressure on Baghdad); attacks on the state and on
    activists count as challenges to the government.

    Source: S4: "A key U.S. demand is for Kadhimi to ... stop rockets and roadside bomb attacks";
    S4: the June 2020 detentions of Kataib Hezbollah members were "in response to rocket attacks
    on U.S. targets". Only lethal attacks on the state add the extra unit (the model's choice).
    """
    p = 1.0
    if us_killed > 0:
        p += 1.0
    if killed > 0 and (target == V.T_STATE or target == V.T_PM or target == V.T_ACTIVIST):
        p += 1.0
    return p


@njit(cache=True)
def crackdown_probability(
    rate: float, pressure: float, legitimacy: float, threat_active: int
) -> float:
    """Return the probability the PM orders a raid today (no raid while detainees are held).

    Rises with pressure from attacks and with an active US threat; scaled by the PM's legitimacy
    and crackdown disposition ``rate``.

    Source: events.csv 2020-06-25 (CTS raid on KH in Dora), 2020-12-25 (AAH arrests after the
    embassy rocket attack), 2021-05-26 (arrest of Qasim Muslih); S4 ("renewed U.S. pressure").
    """
    if rate <= 0.0 or pressure <= 0.0:
        return 0.0
    p = rate * (1.0 - math.exp(-pressure / 5.0)) * legitimacy
    if threat_active == 1:
        p *= 2.0
    if p > 1.0:
        p = 1.0
    if p < 0.0:
        p = 0.0
    return p


@njit(cache=True)
def release_probability(rate: float, strength: float, legitimacy: float) -> float:
    """Return the daily probability that detainees are released under militia pressure.

    Stronger factions and weaker PMs force releases sooner.

    Source: S4: the June 2020 raid ended with "guarantees their comrades would be let go. Over the
    coming days, they were"; events.csv 2021-05-26 (Muslih released 9 June after PMF vehicles
    entered the Green Zone).
    """
    denom = strength + legitimacy
    if denom <= 0.0:
        return 0.0
    p = rate * strength / denom
    if p > 1.0:
        p = 1.0
    if p < 0.0:
        p = 0.0
    return p


@njit(cache=True)
def legitimacy_after_release(legitimacy: float, loss: float) -> float:
    """Return the PM's legitimacy after a forced release (in [0, 1]).

    Source: S4: the June 2020 standoff "set the tone for Kadhimi's premiership"; events.csv
    2020-06-25 ("humiliating climb-down"); events.csv 2021-05-26 (Muslih released after PMF
    vehicles entered the Green Zone: "second failed crackdown").
    """
    x = legitimacy - loss
    if x < 0.0:
        x = 0.0
    if x > 1.0:
        x = 1.0
    return x


@njit(cache=True)
def mediation_probability(
    rate: float, threat_active: int, mean_directive: float, pressure: float
) -> float:
    """Return the daily probability that the PM brokers a truce (when none stands).

    Mediation succeeds when agencies lean to calm, and far more often under a US coercive threat.

    Source: events.csv 2020-09-20 and 2020-10-10 (Pompeo's threat, then the conditional
    ceasefire); S1 (Mar 2021: a truce traded for a UNSC letter, brokered through "Beirut, Tehran,
    the United Nations mission"); S4 ("paused attacks ... partly thanks to the U.S. embassy
    threat").
    """
    if rate <= 0.0 or pressure <= 0.0:
        return 0.0
    p = rate * (1.0 - math.exp(-pressure / 10.0))
    if threat_active == 0:
        p *= 0.2
    if mean_directive > 0.0:
        p *= 0.25
    if p > 1.0:
        p = 1.0
    return p


@njit(cache=True)
def complies_with_truce(u: float, compliance: float) -> int:
    """Return 1 if a faction complies with a truce it is party to, 0 if it is a spoiler.

    Source: events.csv 2020-11-17 (Ashab al-Kahf rockets broke the truce), 2021-03-04 (a single
    group's pause); S0 (Khazali "reluctant to comply with the calls for calm").
    """
    if u < compliance:
        return 1
    return 0


@njit(cache=True)
def truce_breaks(u: float, spoiler_attack: int, breakdown: float) -> int:
    """Return 1 if a spoiler's attack on US targets collapses the truce.

    Source: events.csv 2020-11-17: a rocket volley on the embassy broke the October truce.
    """
    if spoiler_attack == 1 and u < breakdown:
        return 1
    return 0


@njit(cache=True)
def prime_suspect(blame: np.ndarray) -> int:
    """Return the faction with the most attributed blame (first on ties), or -1 if none >= 0.5.

    Source: S4: the June 2020 raid targeted "the most powerful Iran-aligned faction, Kataib
    Hezbollah, in response to rocket attacks on U.S. targets"; events.csv 2020-12-25 (AAH members
    arrested over the embassy rocket attack).
    """
    best = -1
    best_v = 0.5
    for i in range(blame.shape[0]):
        if blame[i] >= best_v and (best < 0 or blame[i] > blame[best]):
            best = i
            best_v = blame[i]
    return best
