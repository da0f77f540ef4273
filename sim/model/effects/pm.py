"""Effects of the prime minister: pressure, raids, releases and the forced Iraqi events."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L
from sim.model import rules as R
from sim.model.effects.common import emit
from sim.model.state import (
    FI_ATT_KILLED,
    FI_ATT_TARGET,
    FI_ATT_US_KILLED,
    FI_DETAINED,
    FS_EXCITATION,
    FS_EXPOSURE,
    FS_GRIEVANCE_STATE,
    SC_CRACKDOWN,
    SC_LEGITIMACY,
    SC_PRESSURE,
)


@njit(cache=True)
def add_attack_pressure(i: int, fi: np.ndarray, sc: np.ndarray) -> None:
    """Add the political pressure of faction ``i``'s attack today (if any) on the PM.

    Source: ``pressure_from_attack`` (ODD 7.6.1): S4 (Kadhimi under pressure to act against
    the rocket cells after attacks on the Green Zone).
    """
    if fi[i, FI_ATT_TARGET] >= 0:
        sc[SC_PRESSURE] += R.pressure_from_attack(
            fi[i, FI_ATT_TARGET], fi[i, FI_ATT_KILLED], fi[i, FI_ATT_US_KILLED]
        )


@njit(cache=True)
def arrest(
    day: int,
    g: np.ndarray,
    i: int,
    forced: int,
    fs: np.ndarray,
    fi: np.ndarray,
    sc: np.ndarray,
    ev: np.ndarray,
    ep: np.ndarray,
) -> None:
    """Raid faction ``i``: hold its members, raise its grievance and exposure; log ``arrest``.

    Its grievance against the state rises by ``pm.arrest_grievance``; its exposure by 1; the PM's
    pressure is relieved (set to 0). Used for discretionary and forced (inject) raids alike.

    Source: S4 and events.csv 2020-06-25 (the raid on KH in Dora, the detainees released within
    days), 2020-12-25, 2021-05-26; S2; ODD 7.6.
    """
    fi[i, FI_DETAINED] = 1
    fs[i, FS_GRIEVANCE_STATE] += g[L.G_PM_ARREST_GRIEVANCE]
    fs[i, FS_EXPOSURE] += 1.0
    sc[SC_PRESSURE] = 0.0
    nf = fs.shape[0]
    emit(ev, ep, day, nf + V.N_AGENCIES + 1, V.K_ARREST, -1, -1, -1, 0, i, V.D_NONE, forced, 0, 0)


@njit(cache=True)
def release(
    day: int,
    g: np.ndarray,
    i: int,
    fs: np.ndarray,
    fi: np.ndarray,
    sc: np.ndarray,
    ev: np.ndarray,
    ep: np.ndarray,
) -> None:
    """Release faction ``i``'s detainees under duress: the PM loses legitimacy; log ``release``.

    Legitimacy falls (``legitimacy_after_release``); the faction's grievance against the state
    rises by ``pm.backfire_grievance`` and its excitation by ``pm.backfire_excitation``.

    Source: S4 (the Dora detainees released after KH fighters surrounded the PM's compound,
    events.csv 2020-06-25; "the crackdown backfired"); ODD 7.6.3-7.6.4.
    """
    fi[i, FI_DETAINED] = 0
    sc[SC_LEGITIMACY] = R.legitimacy_after_release(sc[SC_LEGITIMACY], g[L.G_PM_LEGITIMACY_LOSS])
    fs[i, FS_GRIEVANCE_STATE] += g[L.G_PM_BACKFIRE_GRIEVANCE]
    fs[i, FS_EXCITATION] += g[L.G_PM_BACKFIRE_EXCITATION]
    nf = fs.shape[0]
    emit(ev, ep, day, nf + V.N_AGENCIES + 1, V.K_RELEASE, -1, -1, -1, 0, i, V.D_NONE, 0, 0, 0)


@njit(cache=True)
def election(day: int, fp: np.ndarray, fs: np.ndarray, ev: np.ndarray, ep: np.ndarray) -> None:
    """Hold a forced election: raise each faction's grievance against the state by its loss.

    Source: events.csv 2021-10-10 (the factions' parliamentary losses); S0, S3 (the turn against
    the state that followed); ODD 6.2.
    """
    nf = fs.shape[0]
    for i in range(nf):
        fs[i, FS_GRIEVANCE_STATE] += fp[i, L.F_ELECTION_LOSS]
    emit(ev, ep, day, nf + V.N_AGENCIES + 1, V.K_ELECTION, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0)


@njit(cache=True)
def new_pm(day: int, g: np.ndarray, crackdown: float, nf: int, sc: np.ndarray, ev, ep) -> None:
    """Install a new prime minister (forced): new crackdown disposition, legitimacy reset.

    Source: events.csv 2020-05-07 (Kadhimi takes office with a mandate to rein in the
    factions; S4); ODD 6.2.
    """
    sc[SC_CRACKDOWN] = crackdown
    sc[SC_LEGITIMACY] = g[L.G_PM_LEGITIMACY0]
    emit(ev, ep, day, nf + V.N_AGENCIES + 1, V.K_NEW_PM, -1, -1, -1, 0, -1, V.D_NONE, 1, 0, 0)


@njit(cache=True)
def pm_policy(crackdown: float, legitimacy: float, sc: np.ndarray) -> None:
    """Set a policy's ``pm.crackdown`` / ``pm.legitimacy`` (negative = unchanged).

    Source: the policy lever of ODD 6.3 (assumption A20); no event is logged.
    """
    if crackdown >= 0.0:
        sc[SC_CRACKDOWN] = crackdown
    if legitimacy >= 0.0:
        sc[SC_LEGITIMACY] = legitimacy
