"""Effects of the Iranian agencies: a new directive, a control multiplier, the factions' signals."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model import layout as L
from sim.model import rules as R
from sim.model import state as S
from sim.model.effects.common import emit
from sim.model.state import AF_DIRECTIVE, AF_MULTIPLIER, FS_OBEDIENCE, FS_SIGNAL, SI_SIGNALS_STALE


@njit(cache=True, inline="always", _nrt=False)
def set_directive(
    day: int, a: int, directive: int, nf: int, af: np.ndarray, si: np.ndarray, ev, ep
) -> None:
    """Set agency ``a``'s directive; if it changed, mark signals stale and log ``directive``.

    Source: S1 (the agencies' conflicting "calm" and "escalate" lines); ODD 7.2.3.
    """
    if directive != int(af[a, AF_DIRECTIVE]):
        af[a, AF_DIRECTIVE] = directive
        si[SI_SIGNALS_STALE] = 1
        detail = V.D_ESCALATE if directive == 1 else V.D_CALM
        emit(ev, ep, day, nf + a, V.K_DIRECTIVE, -1, -1, -1, 0, -1, detail, 0, 0, 0)


@njit(cache=True, inline="always", _nrt=False)
def set_control_multiplier(a: int, multiplier: float, af: np.ndarray, si: np.ndarray) -> None:
    """Set agency ``a``'s control multiplier today; a change marks the signals stale.

    Source: ``control_multiplier`` (ODD 7.2.1): S1 (IRGC-QF's grip weakened after Soleimani).
    """
    if multiplier != af[a, AF_MULTIPLIER]:
        af[a, AF_MULTIPLIER] = multiplier
        si[SI_SIGNALS_STALE] = 1


@njit(cache=True, inline="always", _nrt=False)
def refresh_signals(
    g: np.ndarray,
    control: np.ndarray,
    fs: np.ndarray,
    sc: np.ndarray,
    af: np.ndarray,
    si: np.ndarray,
) -> None:
    """Recompute every faction's directive signal and obedience if they are stale.

    The signal is a pure function of (control, multipliers, directives), so recomputing it only
    when one of them changed gives the values a daily recomputation would.
    Source: ``directive_signal`` (ODD 7.2.5): S1.
    """
    if sc[S.SC_DOMINANCE] != g[L.G_IR_DOMINANCE]:
        sc[S.SC_DOMINANCE] = g[L.G_IR_DOMINANCE]
        si[SI_SIGNALS_STALE] = 1
    if si[SI_SIGNALS_STALE] == 0:
        return
    for i in range(fs.shape[0]):
        sig, obe = R.dominant_signal(
            control[:, i],
            af[:, AF_MULTIPLIER],
            af[:, AF_DIRECTIVE],
            af[:, S.AF_VOICE],
            g[L.G_IR_DOMINANCE],
        )
        fs[i, FS_SIGNAL] = sig
        fs[i, FS_OBEDIENCE] = obe
    si[SI_SIGNALS_STALE] = 0


@njit(cache=True, inline="always", _nrt=False)
def set_voice(a: int, voice: float, af: np.ndarray, si: np.ndarray) -> None:
    """Set agency ``a``'s voice (loudness of its line); a change marks the signals stale.

    Source: ``dominant_signal`` (ODD 7.2.7): S1.
    """
    if voice != af[a, S.AF_VOICE]:
        af[a, S.AF_VOICE] = voice
        si[SI_SIGNALS_STALE] = 1


@njit(cache=True, inline="always", _nrt=False)
def restrain(day: int, sc: np.ndarray) -> None:
    """Restrain the proxies after a red line: restraint := 1; the agencies react.

    Source: ``restraint_trigger`` (ODD 7.2.12): S0, S3, R2.
    """
    sc[S.SC_RESTRAINT] = 1.0
    sc[S.SC_EVENT_DAY] = day


@njit(cache=True, inline="always", _nrt=False)
def regional_war(day: int, days: float, sc: np.ndarray) -> None:
    """Start a regional war on ``day`` for ``days`` days (forced; no event is logged).

    Source: ``war_on`` (ODD 7.2.14): R1.
    """
    sc[S.SC_WAR_START] = day
    sc[S.SC_WAR_UNTIL] = day + days


@njit(cache=True, inline="always", _nrt=False)
def pressure_campaign(day: int, days: float, sc: np.ndarray) -> None:
    """Start a pressure campaign on ``day`` for ``days`` days (forced; no event is logged).

    Source: ``campaign_on`` (ODD 7.2.15): R3.
    """
    sc[S.SC_CAMPAIGN_START] = day
    sc[S.SC_CAMPAIGN_UNTIL] = day + days
