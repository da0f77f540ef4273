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


@njit(cache=True)
def evidence_probability(
    claimed: int, target: int, investigation: float, via_front: float
) -> float:
    """Return the probability that the PM's own investigation links an attack to its faction.

    Every attack is investigated (US targets, the state, activists); a front claim hides the faction
    (``via_front``). The PM's evidence is his own, separate from US blame: a US strike does not
    reset it.

    Source: S2: the PM promised "to investigate rocket attacks when they occur", and an
    investigation into the Hashimi killing was opened; S0: INIS officer Nibras Farman "was killed
    in June as he investigated the murder" of Hashimi (events.csv 2021-06-07); events.csv
    2020-12-25 (AAH members arrested over the embassy rocket attack of 2020-12-20).
    """
    if target < 0:
        return 0.0
    p = investigation
    if claimed >= 0:
        p = investigation * via_front
    if p < 0.0:
        p = 0.0
    if p > 1.0:
        p = 1.0
    return p


@njit(cache=True)
def raid_suspect(blame: np.ndarray, evidence: np.ndarray, own_evidence: float) -> int:
    """Return the faction the PM raids: most suspected by his own evidence and/or US blame.

    The score of a faction is ``(1 - own_evidence) x blame + own_evidence x evidence``; the
    faction with the highest score of at least 0.5 is the suspect (first on ties), as in
    ``prime_suspect``. ``own_evidence = 0`` returns ``prime_suspect(blame)`` (US blame, which a US
    strike resets); ``own_evidence = 1`` uses the PM's evidence only.

    Source: S4: the June 2020 raid was the PM's own decision ("He ordered the U.S.-trained
    Counter-Terrorism Service (CTS) to detain 14 members" of KH); events.csv 2020-12-25 (AAH
    arrested over the embassy rockets), 2021-05-26 (Qasim Muslih, over activist killings and
    attacks on bases): raids followed Iraqi investigations, not US strikes.
    """
    if own_evidence <= 0.0:
        return prime_suspect(blame)
    w = own_evidence
    if w > 1.0:
        w = 1.0
    best = -1
    best_v = 0.5
    for i in range(blame.shape[0]):
        v = (1.0 - w) * blame[i] + w * evidence[i]
        if v >= best_v and (best < 0 or v > best_v):
            best = i
            best_v = v
    return best


@njit(cache=True)
def seized_stock(stock: float, seizure: float) -> float:
    """Return a raided faction's weapon stock after the raid seizes the share ``seizure``.

    ``seizure = 0`` leaves the stock unchanged (raids never reduce capability).

    Source: events.csv 2020-06-25: the CTS raid on KH in Dora detained 13-14 and "rocket
    launchers seized"; S4: the detainees were "accused of firing anti-U.S. rockets".
    """
    f = seizure
    if f <= 0.0:
        return stock
    if f > 1.0:
        f = 1.0
    return stock * (1.0 - f)


@njit(cache=True)
def convicted(days_held: float, conviction_days: float) -> int:
    """Return 1 if detainees held this long are convicted (the raid succeeds), else 0.

    ``conviction_days = 0`` means never (detainees are only ever released, as today).

    Source: S3: on 31 Oct and 1 Nov 2021 Iraq's supreme court "sentenced two men to death" for
    killing two journalists, men "affiliated with Kataib Hezbollah" in "a network of 16 people
    responsible for assassinations"; S4: in 2020, "No successful prosecutions over rocket attacks
    or killings of pro-democracy activists ... have been made".
    """
    if conviction_days <= 0.0:
        return 0
    if days_held >= conviction_days:
        return 1
    return 0


@njit(cache=True)
def legitimacy_after_conviction(legitimacy: float, gain: float) -> float:
    """Return the PM's legitimacy after a conviction (in [0, 1]).

    Source: S4: Kadhimi's team portray "an uncompromising leader", and "No successful
    prosecutions ... have been made since he took office" is counted against him; S3 (the
    convictions of Oct-Nov 2021).
    """
    x = legitimacy + gain
    if x < 0.0:
        x = 0.0
    if x > 1.0:
        x = 1.0
    return x


@njit(cache=True)
def legitimacy_recovery(legitimacy: float, level: float, tau_days: float) -> float:
    """Return the PM's legitimacy after one day of recovery towards ``level``.

    Legitimacy lost to forced releases recovers exponentially with time constant ``tau_days``;
    ``tau_days = 0`` means no recovery (only a new PM restores it, as today).

    Source: S4: after the June 2020 climb-down Kadhimi "fired Khiqani immediately after the
    investigation and embarked on a wide-ranging purge of top state security posts", installed a
    Sandhurst-trained Green Zone chief and a reinstated CTS commander: lost ground is rebuilt by
    appointments over months.
    """
    if tau_days <= 0.0:
        return legitimacy
    return level + (legitimacy - level) * math.exp(-1.0 / tau_days)
