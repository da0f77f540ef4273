"""State of one replicate: a few arrays with named columns, shared by both engines.

Everything that changes during a run lives here; everything fixed lives in the ``World``
(``sim.model.world``). The effect functions (``sim.model.effects``) and the actors' turns
(``sim.model.phases``) act on these arrays; the batch kernel holds one set per replicate, and the
Mesa agents are views onto the same arrays (``Militia.excitation`` reads
``fs[index, FS_EXCITATION]``).

Arrays of one replicate (the argument order every turn and effect uses):

``fs`` float (factions, N_FS)
    Per-faction state: stocks, excitation, grievances, discipline, blame, exposure, truce end day,
    directive signal and obedience.
``fi`` int (factions, N_FI)
    Per-faction flags and today's attack record.
``sc`` float (N_SC,)
    Scalars of the US forces, the prime minister and the Iranian command.
``si`` int (N_SI,)
    Bookkeeping: the next inject row, whether the directive signals must be recomputed.
``af`` float (agencies, N_AF)
    Per-agency directive and control multiplier.
``wk`` float (N_TARGETS,)
    Scratch buffer for target weights (no state is carried in it from one call to the next).
``ev`` int32 (rows, N_ECOLS) and ``ep`` int (N_EP,)
    The event buffer and its position: records go to rows ``ep[EP_BASE] + k`` for
    ``k < ep[EP_CAP]``; ``ep[EP_COUNT]`` counts every record emitted (above the capacity means
    the buffer overflowed and the caller must retry with more room).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L

# --- fs: per-faction float state (one row per faction) --------------------------------------------
FS_STOCK_ROCKET = 0
FS_STOCK_IED = 1
FS_STOCK_DRONE = 2
FS_STOCK_SMALL_ARMS = 3
FS_EXCITATION = 4
FS_GRIEVANCE_US = 5
FS_GRIEVANCE_STATE = 6
FS_DISCIPLINE = 7
FS_BLAME = 8
FS_EXPOSURE = 9
FS_TRUCE_UNTIL = 10  # day the faction's truce ends; -1 = not in a truce
FS_SIGNAL = 11  # directive signal from the agencies controlling it (recomputed when stale)
FS_OBEDIENCE = 12  # total control over it
FS_EVIDENCE = 13  # the PM's own evidence against it (ODD 7.6.6)
FS_ARREST_DAY = 14  # day its members were detained; -1 = none
FS_BASE_RATE = 15  # its baseline attack intensity (a policy may change it at its start, ODD 6.3)
N_FS = 16

# --- fi: per-faction int state --------------------------------------------------------------------
FI_DETAINED = 0  # 1 while members are detained
FI_COMPLIES = 1  # 1 if it complies with its current truce
FI_ATT_TARGET = 2  # today's attack: target code, -1 if it did not attack
FI_ATT_CLAIMED = 3  # today's attack: front that claimed it, -1 if unclaimed
FI_ATT_KILLED = 4  # today's attack: deaths
FI_ATT_US_KILLED = 5  # today's attack: US deaths
FI_ATT_ATTRIBUTED = 6  # today's attack: 1 if the US attributed it
FI_LINES_CONFLICT = 7  # today: 1 if the lines controlling it conflict (ODD 7.2.8)
N_FI = 8

# --- sc: scalar float state -----------------------------------------------------------------------
SC_CREDIBILITY = 0  # US credibility
SC_REVENGE = 1  # Iranian revenge motive
SC_COOLDOWN_UNTIL = 2  # day the US cooldown after the last strike ends; -1 = none
SC_THREAT_UNTIL = 3  # day a US coercive threat stops standing; -1 = none
SC_PRESSURE = 4  # political pressure on the prime minister
SC_LEGITIMACY = 5  # the prime minister's legitimacy
SC_CRACKDOWN = 6  # the prime minister's crackdown disposition
SC_FRAGMENTED = 7  # 1.0 once the Iranian command is fragmented (decapitation)
SC_RESTRAINT = 8  # Iranian restraint after a red line (ODD 7.2.13)
SC_EVENT_DAY = 9  # day of the last US strike or red line (ODD 7.2.10); -1e9 = none
SC_DECAPITATION_DAY = 10  # day of the decapitation (ODD 7.2.11); -1 = none
SC_WAR_START = 11  # first day of a regional war (ODD 7.2.14); -1 = none
SC_WAR_UNTIL = 12  # day the regional war stops
SC_ELECTIONS = 13  # elections held so far (ODD 7.4.13)
SC_DOMINANCE = 14  # iran.dominance the signals were last computed with
SC_CAMPAIGN_START = 15  # first day of a pressure campaign (ODD 7.2.15); -1 = none
SC_CAMPAIGN_UNTIL = 16  # day the pressure campaign stops
N_SC = 17

# --- si: bookkeeping ints -------------------------------------------------------------------------
SI_NEXT_INJECT = 0  # the first inject row not yet applied
SI_SIGNALS_STALE = 1  # 1 when a directive or control multiplier changed since the last signal
N_SI = 2

# --- af: per-agency float state -------------------------------------------------------------------
AF_DIRECTIVE = 0  # -1 calm, 0 none, +1 escalate
AF_MULTIPLIER = 1  # control multiplier today
AF_VOICE = 2  # loudness of its line
N_AF = 3

# --- ep: event buffer position --------------------------------------------------------------------
EP_BASE = 0
EP_CAP = 1
EP_COUNT = 2
N_EP = 3


@njit(cache=True)
def new_state(fp: np.ndarray, g: np.ndarray):
    """Return the initial state arrays ``(fs, fi, sc, si, af, wk)`` of a replicate.

    Parameters
    ----------
    fp : ndarray (factions, N_FP)
        Per-faction parameters (``sim.model.world``).
    g : ndarray (N_G,)
        Global parameters in force on day 0.

    Returns
    -------
    tuple of ndarray
        The arrays described in the module docstring, set as in ODD section 5: stocks, grievances
        and discipline from the scenario; nothing detained, no truce, no threat, no cooldown;
        legitimacy and crackdown from the PM's parameters; directives none, multipliers 1.
    """
    nf = fp.shape[0]
    fs = np.zeros((nf, N_FS))
    fi = np.zeros((nf, N_FI), dtype=np.int64)
    for i in range(nf):
        for w in range(V.N_WEAPONS):
            fs[i, FS_STOCK_ROCKET + w] = fp[i, L.F_STOCK_ROCKET + w]
        fs[i, FS_GRIEVANCE_US] = fp[i, L.F_GRIEVANCE_US0]
        fs[i, FS_GRIEVANCE_STATE] = fp[i, L.F_GRIEVANCE_STATE0]
        fs[i, FS_DISCIPLINE] = fp[i, L.F_DISCIPLINE]
        fs[i, FS_BASE_RATE] = fp[i, L.F_BASE_RATE]
        fs[i, FS_TRUCE_UNTIL] = -1.0
        fs[i, FS_ARREST_DAY] = -1.0
        fi[i, FI_ATT_TARGET] = -1
        fi[i, FI_ATT_CLAIMED] = -1
    sc = np.zeros(N_SC)
    sc[SC_COOLDOWN_UNTIL] = -1.0
    sc[SC_THREAT_UNTIL] = -1.0
    sc[SC_LEGITIMACY] = g[L.G_PM_LEGITIMACY0]
    sc[SC_CRACKDOWN] = g[L.G_PM_CRACKDOWN]
    sc[SC_EVENT_DAY] = -1e9
    sc[SC_DECAPITATION_DAY] = -1.0
    sc[SC_WAR_START] = -1.0
    sc[SC_WAR_UNTIL] = -1.0
    sc[SC_CAMPAIGN_START] = -1.0
    sc[SC_CAMPAIGN_UNTIL] = -1.0
    sc[SC_DOMINANCE] = g[L.G_IR_DOMINANCE]
    si = np.zeros(N_SI, dtype=np.int64)
    si[SI_SIGNALS_STALE] = 1
    af = np.zeros((V.N_AGENCIES, N_AF))
    for a in range(V.N_AGENCIES):
        af[a, AF_MULTIPLIER] = 1.0
    wk = np.zeros(V.N_TARGETS)
    return fs, fi, sc, si, af, wk


@dataclass
class ReplicateState:
    """The state arrays of one replicate, for callers in Python (the Mesa engine, tests).

    Attributes are the arrays of the module docstring; jitted code takes them one by one.
    """

    fs: np.ndarray
    fi: np.ndarray
    sc: np.ndarray
    si: np.ndarray
    af: np.ndarray
    wk: np.ndarray
    ev: np.ndarray
    ep: np.ndarray

    @classmethod
    def initial(cls, fp: np.ndarray, g: np.ndarray, event_rows: int) -> ReplicateState:
        """Return the initial state with an empty event buffer of ``event_rows`` rows."""
        fs, fi, sc, si, af, wk = new_state(fp, g)
        ev = np.zeros((event_rows, L.N_ECOLS), dtype=np.int32)
        ep = np.zeros(N_EP, dtype=np.int64)
        ep[EP_CAP] = event_rows
        return cls(fs, fi, sc, si, af, wk, ev, ep)
