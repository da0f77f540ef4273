"""Effects on and by a militia faction: the day's resupply and forgetting, an attack."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L
from sim.model import rules as R
from sim.model.effects.common import emit
from sim.model.state import (
    FI_ATT_ATTRIBUTED,
    FI_ATT_CLAIMED,
    FI_ATT_KILLED,
    FI_ATT_TARGET,
    FI_ATT_US_KILLED,
    FS_BLAME,
    FS_EXCITATION,
    FS_EXPOSURE,
    FS_GRIEVANCE_STATE,
    FS_GRIEVANCE_US,
    FS_STOCK_ROCKET,
)


@njit(cache=True, inline="always", _nrt=False)
def resupply_and_forget(
    i: int,
    fp: np.ndarray,
    fs: np.ndarray,
    fi: np.ndarray,
    f_exc: float,
    f_grv: float,
    f_blame: float,
    f_expo: float,
) -> None:
    """Start faction ``i``'s day: resupply each stock, decay its memories, clear its attack record.

    Source: ``resupply`` (ODD 7.1.4: storage sites struck by the US, events.csv 2020-03-12,
    2021-06-27; cross-border supply, S3) and ``decay_by`` (ODD 7.1.3: excitation, grievance,
    blame and exposure fade, as in Hawkes models; tallies T09-T12 vs T16). The ``f_*`` arguments
    are today's one-day decay factors (``decay_factor``).
    """
    for w in range(V.N_WEAPONS):
        fs[i, FS_STOCK_ROCKET + w] = R.resupply(
            fs[i, FS_STOCK_ROCKET + w], fp[i, L.F_RESUPPLY_ROCKET + w], fp[i, L.F_MAX_ROCKET + w]
        )
    fs[i, FS_EXCITATION] = R.decay_by(fs[i, FS_EXCITATION], f_exc)
    fs[i, FS_GRIEVANCE_US] = R.decay_by(fs[i, FS_GRIEVANCE_US], f_grv)
    fs[i, FS_GRIEVANCE_STATE] = R.decay_by(fs[i, FS_GRIEVANCE_STATE], f_grv)
    fs[i, FS_BLAME] = R.decay_by(fs[i, FS_BLAME], f_blame)
    fs[i, FS_EXPOSURE] = R.decay_by(fs[i, FS_EXPOSURE], f_expo)
    fi[i, FI_ATT_TARGET] = -1
    fi[i, FI_ATT_CLAIMED] = -1
    fi[i, FI_ATT_KILLED] = 0
    fi[i, FI_ATT_US_KILLED] = 0
    fi[i, FI_ATT_ATTRIBUTED] = 0


@njit(cache=True, inline="always", _nrt=False)
def attack(
    day: int,
    g: np.ndarray,
    i: int,
    weapon: int,
    target: int,
    claimed: int,
    killed: int,
    intercepted: int,
    us_killed: int,
    fs: np.ndarray,
    fi: np.ndarray,
    ev: np.ndarray,
    ep: np.ndarray,
    forced: int = 0,
) -> None:
    """Carry out faction ``i``'s attack: spend a load, raise its excitation, record and log it.

    ``forced`` is 1 for an ``attack`` inject (a documented attack forced at its date, ODD 6.2):
    the same effect, logged as forced.

    Source: ``use_weapon`` (ODD 7.1.5); the excitation jump is the self-excitation of Hawkes
    models of violence (Mohler et al. 2011; attacks cluster: tallies T09-T12); the record is what
    the US (phase 4) and the PM (phase 5) react to the same day (ODD section 3).
    """
    fs[i, FS_STOCK_ROCKET + weapon] = R.use_weapon(fs[i, FS_STOCK_ROCKET + weapon])
    fs[i, FS_EXCITATION] += g[L.G_M_EXCITATION_JUMP]
    fi[i, FI_ATT_TARGET] = target
    fi[i, FI_ATT_CLAIMED] = claimed
    fi[i, FI_ATT_KILLED] = killed
    fi[i, FI_ATT_US_KILLED] = us_killed
    emit(
        ev,
        ep,
        day,
        i,
        V.K_ATTACK,
        weapon,
        target,
        claimed,
        killed,
        -1,
        V.D_NONE,
        forced,
        intercepted,
        us_killed,
    )


@njit(cache=True, inline="always", _nrt=False)
def faction_policy(i: int, column: int, value: float, fs: np.ndarray) -> None:
    """Set one state variable of faction ``i`` (column ``column`` of ``fs``) to a policy's value.

    A policy's ``factions:`` lever (its base rate, discipline, grievances or stocks) takes effect
    on the policy's start day through an internal inject row (``sim.model.world``); from then on
    the state evolves by the model's rules (a leadership strike still lowers discipline,
    resupply still refills stocks). No event is logged.

    Source: the policy lever of ODD 6.3 (assumption A20, extended to factions).
    """
    fs[i, column] = value
