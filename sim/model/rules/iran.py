"""Decision rules of the Iranian agencies: directives, control, appetite (ODD section 7).

Seeds: S1 Middle East Eye on four Iranian agencies (Mar 2021).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def control_multiplier(agency: int, fragmented: int, unified: int, qf_after: float) -> float:
    """Return the factor by which an agency's control of its factions is scaled today.

    Source: S1 (MEE, Mar 2021): after Soleimani's killing on 3 Jan 2020 "Qaani is the weakest
    link ... the factions' leaders do not place any weight on him"; S2 (WaPo): Qaani "more
    hands-off, issuing broad directives". Only IRGC-QF (agency 1) loses control; a unified command
    (policy lever) restores it.
    """
    if unified == 1 or fragmented == 0:
        return 1.0
    if agency == 1:
        return qf_after
    return 1.0


@njit(cache=True)
def escalation_probability(
    hawkishness: float,
    appetite_on: int,
    appetite: float,
    revenge: float,
    revenge_weight: float,
    truce_active: int,
    truce_calm: float,
) -> float:
    """Return the probability that an agency's next directive is "escalate" rather than "calm".

    Source: S1: "the intelligence ministry's agents are urging calm, those answering to Khamenei
    are stirring the pot"; Iran presses before nuclear negotiations ("they press ... to force the
    Americans to return to the nuclear agreement"); S3: negotiations to resume on 29 Nov 2021.
    Revenge after US strikes: militias "still spoiling for revenge" (S4). A standing truce tilts
    agencies towards calm (S1: the truce traded for a UNSC letter, Mar 2021).
    """
    x = hawkishness + revenge_weight * revenge - truce_calm * truce_active
    if appetite_on == 1:
        x += appetite
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def next_directive(
    u_redraw: float, u_stance: float, p_escalate: float, days: float, cur: int
) -> int:
    """Return an agency's directive for today: keep the current one or issue a new one.

    A directive is reconsidered with probability 1/days per day (mean persistence ``days``); a new
    directive is "escalate" (+1) with probability ``p_escalate``, else "calm" (-1).

    Source: S1: the rival meetings of 28 Feb 2021 (Tehran: escalate; Beirut: calm) issued
    opposite directives; the escalate line was "quickly translated into a missile attack on 3
    March" and held until the truce of that month. The persistence (``directive_days``) is an
    assumption; S1 shows a directive lasting days to weeks, not its distribution.
    """
    if reconsiders_directive(u_redraw, days, cur) == 0:
        return cur
    if u_stance < p_escalate:
        return 1
    return -1


@njit(cache=True)
def reconsiders_directive(u_redraw: float, days: float, cur: int) -> int:
    """Return 1 if ``next_directive`` issues a new directive today, 0 if it keeps ``cur``.

    Engines call it first so that the escalation probability is computed only on days an agency
    reconsiders (the result of ``next_directive`` is the same either way).

    Source: as ``next_directive``.
    """
    if cur != 0 and days > 1.0 and u_redraw >= 1.0 / days:
        return 0
    return 1


@njit(cache=True)
def directive_signal(control: np.ndarray, multipliers: np.ndarray, directives: np.ndarray):
    """Return (signal, obedience) of one faction from the agencies' directives.

    ``signal`` in [-1, 1] is the control-weighted mean directive; ``obedience`` in [0, 1] is the
    total control the agencies hold over the faction. Conflicting directives cancel.

    Source: S1: "each of these agencies controls dozens of Iraqi armed factions ... different
    armed and political factions have subsequently tied themselves to differing Iranian
    agencies"; conflicting instructions surfaced after Feb 2021.
    """
    total = 0.0
    weighted = 0.0
    for a in range(control.shape[0]):
        w = control[a] * multipliers[a]
        total += w
        weighted += w * directives[a]
    if total <= 0.0:
        return 0.0, 0.0
    obedience = total
    if obedience > 1.0:
        obedience = 1.0
    return weighted / total, obedience


@njit(cache=True)
def appetite_on(day: int, negotiation_days: np.ndarray, lead_days: float) -> int:
    """Return 1 if ``day`` falls in the run-up (``lead_days``) to a negotiation round.

    Source: S1 ("they press ... to force the Americans to return to the nuclear agreement ...
    before starting any negotiations"); S3 (talks "set to resume in Vienna on November 29").
    """
    for k in range(negotiation_days.shape[0]):
        d = negotiation_days[k]
        if day <= d and day >= d - lead_days:
            return 1
    return 0


@njit(cache=True)
def mean_directive(directives: np.ndarray) -> float:
    """Return the mean of the agencies' directives (-1 calm .. +1 escalate).

    Source: S1: whether the "Tehran" (escalate) or "Beirut" (calm) line prevails decides whether
    a truce can be brokered.
    """
    s = 0.0
    for a in range(directives.shape[0]):
        s += directives[a]
    return s / directives.shape[0]
