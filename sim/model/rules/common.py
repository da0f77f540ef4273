"""Rules shared by every actor: decay, resupply and weighted choice (ODD section 7.1)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def decay(value: float, tau_days: float) -> float:
    """Decay a stock by one day with time constant ``tau_days`` (exponential forgetting).

    Source: self-excitation and revenge that fade over weeks, as in Hawkes models of violence
    (Mohler et al. 2011, JASA 106:100-108); attacks resumed within weeks after the US strikes of
    29 Dec 2019 and 12 Mar 2020 (events.csv 2020-01-26, 2020-03-14). That they fade rather than
    persist is the model's assumption (the tallies rise and fall: T09-T12 vs T16).
    """
    if tau_days <= 0.0:
        return 0.0
    return value * math.exp(-1.0 / tau_days)


@njit(cache=True)
def decay_factor(tau_days: float) -> float:
    """Return the one-day decay factor exp(-1/tau) used by ``decay_by`` (0 if tau <= 0).

    ``decay_by(x, decay_factor(tau))`` equals ``decay(x, tau)`` bit for bit; engines compute the
    factor once a day instead of once per stock. Source: as ``decay``.
    """
    if tau_days <= 0.0:
        return 0.0
    return math.exp(-1.0 / tau_days)


@njit(cache=True)
def decay_by(value: float, factor: float) -> float:
    """Decay a stock by one day with a precomputed factor (see ``decay_factor``).

    Source: as ``decay``.
    """
    return value * factor


@njit(cache=True)
def resupply(stock: float, rate: float, cap: float) -> float:
    """Add one day's resupply to a weapon stock, never above its cap and never below zero.

    Source: militias hold launchers and munitions in storage sites that the US struck (events.csv
    2020-03-12, "5 KH weapons storage facilities"; 2021-06-27, "sites used for UAV operations");
    the PMF moves weaponry across the Syrian and Iranian borders (S3).
    """
    new = stock + rate
    if new > cap:
        new = cap
    if new < 0.0:
        new = 0.0
    return new


@njit(cache=True)
def choose_index(u: float, weights: np.ndarray, total: float) -> int:
    """Return the index picked by inverse CDF from non-negative ``weights``, or -1 if all are 0.

    Source: inverse-transform sampling of a categorical distribution (Devroye 1986), used for
    target choice (see ``target_weights``).
    """
    if total <= 0.0:
        return -1
    acc = 0.0
    x = u * total
    last = -1
    for i in range(weights.shape[0]):
        if weights[i] > 0.0:
            last = i
            acc += weights[i]
            if x < acc:
                return i
    return last
