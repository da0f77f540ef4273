"""Decision rules of the Iranian agencies: directives, control, appetite (ODD section 7).

Seeds: S1 Middle East Eye on four Iranian agencies (Mar 2021); S0 and S3 on the red line of
7 Nov 2021 (restraint).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import vocab as V


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


@njit(cache=True)
def dominant_signal(
    control: np.ndarray,
    multipliers: np.ndarray,
    directives: np.ndarray,
    voice: np.ndarray,
    dominance: float,
):
    """Return (signal, obedience) of one faction when the loudest Iranian line wins over.

    The loudest line is the agency with the largest ``voice x control x multiplier`` over the
    faction (first on ties). The signal is ``(1 - dominance) x`` the control-weighted mean of
    ``directive_signal`` plus ``dominance x`` the loudest line's directive; obedience is the same
    as in ``directive_signal``. ``dominance = 0`` gives ``directive_signal`` exactly
    (conflicting directives average out); ``dominance = 1`` lets the loudest line decide alone.

    Source: S1: on 28 Feb 2021 the Tehran meeting urged escalation and the Beirut meeting calm;
    "since the voice of the agencies associated with Khamenei's office is the loudest and most
    influential, the Tehran commands won over", and the decision "was quickly translated into a
    missile attack on 3 March" (events.csv 2021-03-03).
    """
    sig, obedience = directive_signal(control, multipliers, directives)
    if dominance <= 0.0 or obedience <= 0.0:
        return sig, obedience
    best = -1
    best_v = 0.0
    for a in range(control.shape[0]):
        v = voice[a] * control[a] * multipliers[a]
        if v > best_v:
            best = a
            best_v = v
    if best < 0:
        return sig, obedience
    d = dominance
    if d > 1.0:
        d = 1.0
    return (1.0 - d) * sig + d * directives[best], obedience


@njit(cache=True)
def lines_conflict(control: np.ndarray, multipliers: np.ndarray, directives: np.ndarray) -> int:
    """Return 1 if the agencies that control a faction issue opposite directives today.

    Source: S1: "While one of the lines denies its connection to this attack, another line
    claims responsibility for it ... a game of good cop, bad cop"; the rival Tehran and Beirut
    meetings of 28 Feb 2021.
    """
    esc = 0
    calm = 0
    for a in range(control.shape[0]):
        if control[a] * multipliers[a] > 0.0:
            if directives[a] > 0.0:
                esc = 1
            elif directives[a] < 0.0:
                calm = 1
    if esc == 1 and calm == 1:
        return 1
    return 0


@njit(cache=True)
def coordinated_attribution(p_attributed: float, conflict: int, coordination: float) -> float:
    """Return the US attribution probability of an attack while Iran plays "good cop, bad cop".

    When the lines controlling the attacker conflict (``lines_conflict``), the calm line's
    denial is coordinated cover for the escalating line: attribution falls by the share
    ``coordination``. ``coordination = 0`` returns ``p_attributed`` unchanged (conflict is noise).

    Source: S1: "occasionally conflicting messages coming out of Iran can actually serve
    Tehran's purposes, and be part of a broader strategy ... They are playing a game of good cop,
    bad cop with the Americans and the Iraqi government. This tactic always pays off."
    """
    if conflict == 0 or coordination <= 0.0:
        return p_attributed
    c = coordination
    if c > 1.0:
        c = 1.0
    return p_attributed * (1.0 - c)


@njit(cache=True)
def reconsiders_after_event(
    u_redraw: float, days: float, cur: int, days_since_event: float, lag: float, p_event: float
) -> int:
    """Return 1 if an agency issues a new directive today, reacting to a dated event.

    ``lag`` days after an event (a US strike on a faction the agency controls, or a red line:
    see ``restraint_trigger``) the agency reconsiders with probability ``max(1/days, p_event)``
    instead of ``1/days``; on other days it behaves as ``reconsiders_directive``. With
    ``p_event = 0`` it returns ``reconsiders_directive`` exactly (directives change at random).

    Source: S1: the US strike of 26 Feb 2021 (events.csv 2021-02-25) was followed on 28 Feb by
    the rival meetings in Tehran (escalate) and Beirut (calm) and by the attack of 3 Mar
    (events.csv 2021-03-03): a directive issued two days after an event, not at random.
    """
    if p_event > 0.0 and days_since_event == lag:
        if cur == 0 or days <= 1.0 or u_redraw < 1.0 / days or u_redraw < p_event:
            return 1
        return 0
    return reconsiders_directive(u_redraw, days, cur)


@njit(cache=True)
def control_timeline(
    agency: int,
    fragmented: int,
    unified: int,
    qf_after: float,
    days_since_decapitation: float,
    soleimani_exclusive: float,
    takeover_days: float,
) -> float:
    """Return an agency's control factor when control follows the time order of S1.

    Before the decapitation IRGC-QF holds its control in full and the other agencies only
    ``1 - soleimani_exclusive`` of theirs; after it IRGC-QF falls to ``qf_after`` (as in
    ``control_multiplier``) while the other agencies (Beit Rahbari first among them) regain their
    control linearly over ``takeover_days``. ``soleimani_exclusive = 0`` gives
    ``control_multiplier`` exactly.

    Source: S1: "All Iran-backed political and armed factions answered to him [Soleimani]"
    until 3 Jan 2020 (events.csv 2020-01-03); then "seeing control of the armed factions
    slipping from Qaani's hands over recent months prompted Khamenei to encourage the Beit
    Rahbari agency to intervene": Hejazi "became directly responsible for ... Kataeb Hezbollah
    and Asaib Ahl al-Haq".
    """
    base = control_multiplier(agency, fragmented, unified, qf_after)
    if soleimani_exclusive <= 0.0 or unified == 1 or agency == 1:
        return base
    s = soleimani_exclusive
    if s > 1.0:
        s = 1.0
    if fragmented == 0:
        return base * (1.0 - s)
    if takeover_days <= 0.0 or days_since_decapitation >= takeover_days:
        return base
    share = days_since_decapitation / takeover_days
    if share < 0.0:
        share = 0.0
    return base * (1.0 - s * (1.0 - share))


@njit(cache=True)
def restraint_trigger(target: int, us_killed: int, us_deaths_red_line: float) -> int:
    """Return 1 if an attack crosses one of Iran's red lines: the PM, or US deaths.

    ``us_deaths_red_line`` <= 0 switches the US-deaths line off (only the PM line remains).

    Source: S0 and S3: after the drone attack on the PM's residence of 7 Nov 2021 (events.csv
    2021-11-07), Qaani came to Baghdad the same evening with "calls for calm"; S3: "Iran [is]
    trying to distance themselves from the attack ... due to the clear redline it crossed".
    US deaths: Kataib Hezbollah suspended attacks two days after three US soldiers were killed at
    Tower 22 (28 Jan 2024), "reportedly under Iranian pressure" (docs/sources.md, R1, R2).
    """
    if target == V.T_PM:
        return 1
    if us_deaths_red_line > 0.0 and us_killed >= us_deaths_red_line:
        return 1
    return 0


@njit(cache=True)
def restrained_escalation_probability(
    hawkishness: float,
    appetite_on: int,
    appetite: float,
    revenge: float,
    revenge_weight: float,
    truce_active: int,
    truce_calm: float,
    restraint: float,
    restraint_weight: float,
    war_on: int,
    war_appetite: float,
    campaign_on: int,
    campaign_appetite: float,
) -> float:
    """Return ``escalation_probability`` with Iranian restraint, a regional war and a campaign.

    x = (the log-odds of ``escalation_probability``) - restraint_weight x restraint
    + war_appetite x war_on + campaign_appetite x campaign_on. ``restraint`` is a stock set to 1
    by a red line (``restraint_trigger``) that decays with its own time constant. With
    ``restraint_weight = 0``, ``war_appetite = 0`` and ``campaign_appetite = 0`` it equals
    ``escalation_probability`` bit for bit. The pressure campaign (``campaign_on``) is the
    kinetic campaign before talks on the US presence (R3).

    Source: restraint: S0 (Qaani "brought Al Kazimi a peace message in the evening of 7
    November", with "calls for calm issued by his Iranian backer"); the KH suspension of 30 Jan
    2024 "reportedly under Iranian pressure" (docs/sources.md, R2). Regional war: the campaign of
    the Islamic Resistance in Iraq against US forces from 17 Oct 2023, after the war in Gaza began
    on 7 Oct 2023 (docs/sources.md, R1); S1 on Iran pressing the US through its proxies ("they
    press [by striking the American forces ...]").
    """
    x = hawkishness + revenge_weight * revenge - truce_calm * truce_active
    if appetite_on == 1:
        x += appetite
    x -= restraint_weight * restraint
    if war_on == 1:
        x += war_appetite
    if campaign_on == 1:
        x += campaign_appetite
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def war_on(day: int, start_day: float, end_day: float) -> int:
    """Return 1 if ``day`` falls inside a regional war window [start_day, end_day).

    A negative ``start_day`` means no war. Source: docs/sources.md R1 (the regional war from 7 Oct
    2023 and the campaign of the Islamic Resistance in Iraq from 17 Oct 2023).
    """
    return _in_window(day, start_day, end_day)


@njit(cache=True)
def _in_window(day: int, start_day: float, end_day: float) -> int:
    """Return 1 if ``day`` lies in [start_day, end_day); 0 if not or if ``start_day`` < 0."""
    if start_day < 0.0:
        return 0
    if day >= start_day and day < end_day:
        return 1
    return 0


@njit(cache=True)
def campaign_on(day: int, start_day: float, end_day: float) -> int:
    """Return 1 if ``day`` falls inside a pressure campaign's window [start_day, end_day).

    A negative ``start_day`` means no campaign. The windows are forced by ``pressure_campaign``
    injects dated from the reporting (scenarios/historical.yaml), not drawn by the model.

    Source: R3 (ISW, 14 and 21 Aug 2020: Iran and its proxy network "escalated a kinetic campaign
    to build political pressure" on the PM over the US force presence "ahead of the next stage of
    the US-Iraq Strategic Dialogue"; Jerusalem Post, 17 Aug 2020: rocket fire "increasing to
    become daily"); events.csv 2020-06-11 (rockets resume as the Dialogue opens); events.csv
    2020-10-10 (the truce is made conditional on a US withdrawal timetable). Where the pattern
    does not hold: before the round of 26 Jul 2021 attacks "died down" (R3, AFP 29 Jul 2021).
    """
    return _in_window(day, start_day, end_day)
