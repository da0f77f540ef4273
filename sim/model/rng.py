"""Counter-based random numbers: every draw is a pure function of its coordinates.

A draw is ``uniform(seed, replicate, day, actor, decision)``: a SplitMix64-style hash of the five
integers mapped to a double in [0, 1). Nothing is carried between draws, so

* the Mesa engine and the numba kernel obtain identical draws whatever order they evaluate agents
  in, and without sharing any generator state;
* two policy scenarios draw the same number for the same decision on the same day (common random
  numbers), so their histories are identical up to an intervention date by construction;
* chunking, thread count and resume cannot change any result.

The finaliser is the one of SplitMix64 (Steele, Lea and Flood 2014, "Fast splittable pseudorandom
number generators", OOPSLA), whose output passes BigCrush; uniformity of this wrapper is tested in
``tests/model/test_rng.py`` with ``scipy.stats.kstest``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_MIX1 = uint64(0xBF58476D1CE4E5B9)
_MIX2 = uint64(0x94D049BB133111EB)
_K_REP = uint64(0xD1B54A32D192ED03)
_K_DAY = uint64(0xABC98388FB8FAC03)
_K_ACTOR = uint64(0x8CB92BA72F3D8DD7)
_K_DEC = uint64(0xC13FA9A902A6328F)
_INV_2_53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def _finalise(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> uint64(30))) * _MIX1
    z = (z ^ (z >> uint64(27))) * _MIX2
    return z ^ (z >> uint64(31))


@njit(cache=True)
def replicate_key(seed: int, rep: int) -> np.uint64:
    """Return the 64-bit key of one replicate of one seed.

    Parameters
    ----------
    seed : int
        Scenario seed (non-negative, below 2**63).
    rep : int
        Replicate index.

    Returns
    -------
    numpy.uint64
        The key that ``draw`` combines with a day, an actor and a decision.
    """
    z = _finalise(uint64(seed) + _GOLDEN)
    return _finalise(z ^ (uint64(rep) * _K_REP + _GOLDEN))


@njit(cache=True)
def draw(key: np.uint64, day: int, actor: int, decision: int) -> float:
    """Return the draw in [0, 1) for one decision of one actor on one day.

    Parameters
    ----------
    key : numpy.uint64
        The replicate key from ``replicate_key``.
    day : int
        Day index since the scenario start.
    actor : int
        Actor code (see ``sim.model.layout``).
    decision : int
        Decision code (see ``sim.model.layout``).

    Returns
    -------
    float
        A double in [0, 1) with 53 random bits.
    """
    z = _finalise(uint64(key) ^ (uint64(day) * _K_DAY + _GOLDEN))
    z = _finalise(z ^ (uint64(actor) * _K_ACTOR + uint64(decision) * _K_DEC))
    return float(z >> uint64(11)) * _INV_2_53


@njit(cache=True)
def uniform(seed: int, rep: int, day: int, actor: int, decision: int) -> float:
    """Return ``draw(replicate_key(seed, rep), day, actor, decision)``.

    Parameters
    ----------
    seed, rep, day, actor, decision : int
        The coordinates of the draw.

    Returns
    -------
    float
        A double in [0, 1).
    """
    return draw(replicate_key(seed, rep), day, actor, decision)


def key_for(seed: int, rep: int) -> np.uint64:
    """Return ``replicate_key(seed, rep)`` as a ``numpy.uint64`` (for calls from Python).

    numba returns the key to Python as an ``int``; keys of 2**63 or more would not convert back
    to a jitted argument, so Python callers keep it as ``numpy.uint64``.
    """
    return np.uint64(replicate_key(seed, rep))
