"""Decision rules of the escalation model: small pure numba functions.

Both engines (the Mesa agents in ``sim.agents`` and the batch kernel in ``sim.kernel``) call these
functions, in the same phase order, with the same counter-based draws (``sim.rng``). Every rule
names, in its docstring, the documented event (seed article in ``docs/sources.md``, row of
``calibration/data/events.csv`` or ``tallies.csv``) or published finding it rests on.

Seeds: S0 Intelligence Online on INIS (Nov 2021); S1 Middle East Eye on four Iranian agencies
(Mar 2021); S2 Washington Post on the Hashimi killing (Jul 2020); S3 JINSA brief on the drone
strike on the PM (Nov 2021); S4 Reuters on Kadhimi's crackdown (autumn 2020).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import state as S

COMPAT = np.array(S.COMPAT, dtype=np.int64)
# Deterrent weight of each doctrine (none, proportional, infrastructure, leadership): the expected
# severity of a retaliatory strike relative to a proportional one (assumed values). Leadership
# strikes are the severest option argued for in S3 ("targeting leadership elements").
DOCTRINE_SEVERITY = np.array([0.0, 1.0, 1.5, 2.5])
# Strike-rate multiplier of each doctrine: leadership targeting answers each attributable attack
# (S3's recommended posture); infrastructure and proportional strikes are rarer (S3: "the majority
# of Iranian-linked attacks ... have not triggered a military response").
DOCTRINE_RATE = np.array([0.0, 1.0, 1.0, 3.0])
# People killed by one endogenous US strike, (low, high) per strike type: 1 killed on 25 Feb 2021,
# 4 on 27 Jun 2021 (events.csv); leadership strikes kill commanders and escorts (the 3 Jan 2020
# strike killed Soleimani, Muhandis and their party). Forced strikes carry their documented toll.
STRIKE_KILLED = np.array([[1, 5], [1, 8], [2, 12]], dtype=np.int64)


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
def discipline_noise(
    u: float, noise: float, discipline: float, fragmented: int, extra: float
) -> float:
    """Return the faction's own deviation from its directive (a uniform with unit variance, scaled).

    Less disciplined factions deviate more, and more so after the decapitation of January 2020.
    Source: S2: Muhandis's death left "increasingly rogue groups" that no one could control; S0:
    AAH's Khazali "reluctant to comply with the calls for calm issued by his Iranian backer".
    """
    d = discipline
    if d < 0.0:
        d = 0.0
    if d > 1.0:
        d = 1.0
    sigma = noise * (1.0 - d)
    if fragmented == 1:
        sigma *= 1.0 + extra
    return sigma * (2.0 * u - 1.0) * 1.7320508075688772


@njit(cache=True)
def attribution_probability(claimed: int, direct: float, via_front: float) -> float:
    """Return the probability that the US attributes an attack to its parent faction.

    Source: S1: attacks claimed by "small armed groups bearing names never seen before ... a new
    tactic adopted by well-known factions to carry out attacks without bearing the
    consequences"; S2: "reining them in feels like chasing ghosts".
    """
    if claimed >= 0:
        return via_front
    return direct


@njit(cache=True)
def deterrence(
    front_share: float,
    direct: float,
    via_front: float,
    doctrine: int,
    strike_rate: float,
    credibility: float,
    threat_active: int,
    threat_deterrence: float,
) -> float:
    """Return the retaliation a faction expects per attack (non-negative).

    Expected retaliation = P(attributed) x P(strike | attributed) x severity x (1 + credibility),
    plus a term while a coercive US threat stands. Fronts lower P(attributed).

    Sources: S1 (front groups for deniability); S3 ("military force ... too limited and
    inconsistent to have a deterrent effect"); S4 and events.csv 2020-09-20 (Pompeo's threat to
    close the embassy preceded the militias' pause: "paused attacks for now - partly thanks to the
    U.S. embassy threat").
    """
    p_attr = (1.0 - front_share) * direct + front_share * via_front
    rate = strike_rate * DOCTRINE_RATE[doctrine]
    p_strike = 1.0 - math.exp(-rate)
    d = p_attr * p_strike * DOCTRINE_SEVERITY[doctrine] * (1.0 + credibility)
    if threat_active == 1:
        d += threat_deterrence
    if d < 0.0:
        d = 0.0
    return d


@njit(cache=True)
def attack_intensity(
    base_rate: float,
    excitation: float,
    grievance: float,
    beta_grievance: float,
    signal: float,
    obedience: float,
    beta_directive: float,
    noise: float,
    deterrence_value: float,
    beta_deterrence: float,
) -> float:
    """Return a faction's expected attacks per day before targets and truces are applied.

    lambda = base x (1 + excitation) x exp(b_g grievance + b_d obedience signal + noise
    - b_det deterrence). Non-increasing in deterrence for b_det >= 0.

    Sources: grievance and revenge (S4: militias "still spoiling for revenge"); Iranian directives
    (S1: the Tehran meeting's decision "was quickly translated into a missile attack on 3 March");
    self-excitation (Hawkes; rocket volleys clustered in Aug-Sep 2020, tallies T09-T12);
    deterrence (S3).
    """
    x = beta_grievance * grievance + beta_directive * obedience * signal + noise
    x -= beta_deterrence * deterrence_value
    if x > 30.0:
        x = 30.0
    return base_rate * (1.0 + excitation) * math.exp(x)


@njit(cache=True)
def truce_target_multiplier(
    target: int, in_truce: int, complies: int, suppression: float, leak: float
) -> float:
    """Return the factor on a faction's intensity against one target while a truce stands.

    A complying faction suppresses attacks by ``suppression``; convoy IEDs leak through at
    ``leak`` of that suppression because they are deniable. Spoilers are unaffected.

    Source: events.csv 2020-10-10 and tally T16: after the October 2020 truce "rockets on embassy
    stop until Nov 17; convoy IEDs continue"; S4: militias "paused attacks for now".
    """
    if in_truce == 0 or complies == 0:
        return 1.0
    s = suppression
    if target == S.T_CONVOY:
        s = suppression * (1.0 - leak)
    if s > 1.0:
        s = 1.0
    if s < 0.0:
        s = 0.0
    return 1.0 - s


@njit(cache=True)
def weapon_available(weapon: int, stocks: np.ndarray, drones_ok: int) -> int:
    """Return 1 if the faction can use ``weapon`` today (one load in stock; drones once adopted).

    Source: events.csv 2021-04-14, "first militia explosive-drone attack on a US-hosting base ...
    weapon shift to UAVs begins"; S3: 212 of 343 projectiles in 2021 were drones (a region-wide
    count of Iran-linked groups, not Iraq alone).
    """
    if weapon == S.W_DRONE and drones_ok == 0:
        return 0
    if stocks[weapon] >= 1.0:
        return 1
    return 0


@njit(cache=True)
def target_weights(
    prefs: np.ndarray,
    stocks: np.ndarray,
    drones_ok: int,
    us_posture: float,
    grievance_state: float,
    state_targeting: float,
    in_truce: int,
    complies: int,
    suppression: float,
    leak: float,
    out: np.ndarray,
) -> float:
    """Fill ``out`` with today's weight of each target and return their sum.

    A target is open only if a compatible weapon is available; US bases and convoys only while US
    forces are present (``us_posture``); grievance against the state raises the weight of state
    targets, the PM and activists; a truce thins targets by ``truce_target_multiplier``.

    Sources: S0 (rockets on INIS HQ, 31 Oct 2021, after the election losses); S2 (the killing of
    Hisham al-Hashimi after the June 2020 raid); S3 (drones on the PM's residence); tallies
    T10/T11 (convoy IEDs); events.csv 2021-07-26 and 2021-12-09 (end of the US combat role).
    """
    avail = (
        weapon_available(0, stocks, drones_ok),
        weapon_available(1, stocks, drones_ok),
        weapon_available(2, stocks, drones_ok),
        weapon_available(3, stocks, drones_ok),
    )
    total = 0.0
    for t in range(S.N_TARGETS):
        open_ = 0
        for w in range(S.N_WEAPONS):
            if COMPAT[t, w] == 1 and avail[w] == 1:
                open_ = 1
                break
        wt = 0.0
        if open_ == 1:
            wt = prefs[t]
            if t == S.T_US_BASE or t == S.T_CONVOY:
                wt *= us_posture
            if t == S.T_STATE or t == S.T_PM or t == S.T_ACTIVIST:
                wt *= 1.0 + state_targeting * grievance_state
            wt *= truce_target_multiplier(t, in_truce, complies, suppression, leak)
        if wt < 0.0:
            wt = 0.0
        out[t] = wt
        total += wt
    return total


@njit(cache=True)
def attack_probability(intensity: float, open_share: float) -> float:
    """Return the probability of an attack today: 1 - exp(-intensity x open_share), in [0, 1].

    ``open_share`` is the summed weight of open targets relative to the faction's preferences, so
    no open target (no capability, no reachable target) means no attack.

    Source: Poisson thinning of a daily attack intensity; zero capability gives zero attacks.
    """
    lam = intensity * open_share
    if lam <= 0.0:
        return 0.0
    return 1.0 - math.exp(-lam)


@njit(cache=True)
def choose_index(u: float, weights: np.ndarray, total: float) -> int:
    """Return the index picked by inverse CDF from non-negative ``weights``, or -1 if all are 0.

    Source: a generic categorical sampler used for target choice (see ``target_weights``).
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


@njit(cache=True)
def choose_weapon(
    u: float, target: int, stocks: np.ndarray, drones_ok: int, prefs: np.ndarray
) -> int:
    """Return the weapon used against ``target``: preference-weighted among available ones.

    Source: reference rows: rockets on bases and the embassy (2019-2021), roadside IEDs on
    convoys (T10/T11), drones from April 2021 (2021-04-14, 2021-06-26, 2021-11-07), small arms
    for assassinations (2020-07-06, 2021-06-07).
    """
    total = 0.0
    for w in range(S.N_WEAPONS):
        if COMPAT[target, w] == 1 and weapon_available(w, stocks, drones_ok) == 1:
            total += prefs[w]
    if total <= 0.0:
        # preferences are zero for every open weapon: fall back to the first open weapon
        for w in range(S.N_WEAPONS):
            if COMPAT[target, w] == 1 and weapon_available(w, stocks, drones_ok) == 1:
                return w
        return -1
    x = u * total
    acc = 0.0
    last = -1
    for w in range(S.N_WEAPONS):
        open_ = COMPAT[target, w] == 1 and weapon_available(w, stocks, drones_ok) == 1
        if open_ and prefs[w] > 0.0:
            last = w
            acc += prefs[w]
            if x < acc:
                return w
    return last


@njit(cache=True)
def use_weapon(stock: float) -> float:
    """Return the stock after one attack's load is spent (never negative).

    Source: capability stocks (see ``resupply``).
    """
    new = stock - 1.0
    if new < 0.0:
        new = 0.0
    return new


@njit(cache=True)
def choose_claim(u: float, front_share: float, n_fronts: int) -> int:
    """Return the front group that claims the attack (0..n_fronts-1), or -1 for no front claim.

    Source: S1 ("guardians of blood", "people of the cave": Saraya Awliya al-Dam, Ashab al-Kahf);
    S2 ("claimed by shadowy new groups"); events.csv 2021-02-15 (Saraya Awliya al-Dam claims).
    """
    if n_fronts <= 0 or u >= front_share:
        return -1
    k = int(u / front_share * n_fronts)
    if k >= n_fronts:
        k = n_fronts - 1
    return k


@njit(cache=True)
def is_intercepted(
    u: float, weapon: int, target: int, ad_rocket: float, ad_drone: float, pm_ad_drone: float
) -> int:
    """Return 1 if air defence intercepts the attack.

    Source: events.csv 2021-06-06 ("2 drones shot down over Ain al-Asad; rocket intercepted over
    Baghdad airport"), 2022-01-03 (drones shot down at the Diplomatic Support Center), and
    2021-11-07 (3 drones on the PM's residence, 2 downed).
    """
    p = 0.0
    if target == S.T_US_BASE or target == S.T_US_EMBASSY:
        if weapon == S.W_ROCKET:
            p = ad_rocket
        elif weapon == S.W_DRONE:
            p = ad_drone
    elif target == S.T_PM and weapon == S.W_DRONE:
        p = pm_ad_drone
    if u < p:
        return 1
    return 0


@njit(cache=True)
def casualties(u: float, u_count: float, weapon: int, lethality: np.ndarray) -> int:
    """Return the number of people an attack kills: 0 with prob 1 - lethality, else 1 to 3.

    Source: most rocket attacks killed nobody (events.csv 2019-11-08, 2019-12-03); some killed
    one or more (2019-12-27 one contractor; 2020-03-11 three); tally T18: 11 killed in attacks on
    US interests in a year. Shootings of activists are lethal by intent (2020-07-06). The cap of
    3 is a simplification: the 5 civilians killed on 2020-09-28 lie beyond it.
    """
    if u >= lethality[weapon]:
        return 0
    k = 1
    if u_count < 0.3:
        k += 1
    if u_count < 0.1:
        k += 1
    return k


@njit(cache=True)
def us_victims(u: float, killed: int, target: int, share: float) -> int:
    """Return how many of ``killed`` are US personnel or contractors (the red-line count).

    Source: events.csv 2019-12-27 (US contractor killed at K-1), 2020-03-11 (2 US and 1 UK
    service members); tally T18: of 11 killed, most were Iraqi civilians and contractors.
    """
    if killed <= 0:
        return 0
    if target != S.T_US_BASE and target != S.T_US_EMBASSY and target != S.T_CONVOY:
        return 0
    if u < share:
        return killed
    return 0


@njit(cache=True)
def strike_probability(
    doctrine: int,
    blame: float,
    strike_rate: float,
    us_killed: int,
    red_line: float,
    red_line_strike: float,
    cooldown_left: float,
) -> float:
    """Return the probability that the US strikes a faction today.

    Each doctrine answers accumulated attributed blame at its own rate; US deaths at or beyond
    the red line trigger a strike with probability ``red_line_strike``; no strike during the
    cooldown after the last one; doctrine "none" never strikes.

    Source: events.csv: the strikes of 29 Dec 2019 (after a US contractor's death on 27 Dec),
    12 Mar 2020 (after 2 US deaths on 11 Mar), 25 Feb 2021 (after the Erbil attack of 15 Feb that
    killed a foreign contractor and wounded a US soldier) and 27 Jun 2021 (after drone attacks);
    S3: most attacks "have not triggered a military response". The red line counts the US deaths
    of one attributed attack.
    """
    if doctrine == S.DOC_NONE or cooldown_left > 0.0:
        return 0.0
    p = 1.0 - math.exp(-strike_rate * DOCTRINE_RATE[doctrine] * blame)
    if red_line > 0.0 and us_killed >= red_line and red_line_strike > p:
        p = red_line_strike
    if p < 0.0:
        p = 0.0
    if p > 1.0:
        p = 1.0
    return p


@njit(cache=True)
def strike_type_of(doctrine: int) -> int:
    """Return the strike type (index into STRIKE_TYPES) a doctrine uses.

    Source: S3 contrasts infrastructure strikes ("a border control point and weapons storage
    facilities") with strikes "targeting leadership elements".
    """
    if doctrine == S.DOC_LEADERSHIP:
        return 2
    if doctrine == S.DOC_INFRASTRUCTURE:
        return 1
    return 0


@njit(cache=True)
def strike_casualties(u: float, strike_type: int) -> int:
    """Return the number killed by one US strike of the given type (uniform between bounds).

    Source: events.csv 2021-02-25 (1 killed), 2021-06-27 (4 killed). The 29 Dec 2019 strike
    (~25 KH killed) lies above these bounds; it is forced in the historical scenario with its
    documented toll.
    """
    lo = STRIKE_KILLED[strike_type, 0]
    hi = STRIKE_KILLED[strike_type, 1]
    k = lo + int(u * (hi - lo + 1))
    if k > hi:
        k = hi
    return k


@njit(cache=True)
def degrade(stock: float, fraction: float) -> float:
    """Return a stock after a strike destroys ``fraction`` of it (clipped to [0, stock]).

    Source: events.csv 2020-03-12 (strikes on 5 KH weapons storage facilities); S3: strikes
    that "did not significantly degrade the militias' personnel or leadership".
    """
    f = fraction
    if f < 0.0:
        f = 0.0
    if f > 1.0:
        f = 1.0
    return stock * (1.0 - f)


@njit(cache=True)
def strike_degrade_fraction(strike_type: int, infra: float, leadership: float) -> float:
    """Return the share of the target's stocks a strike of this type destroys.

    Proportional strikes destroy half of what an infrastructure strike does; leadership strikes
    destroy ``leadership``. Source: S3 (infrastructure vs leadership targeting).
    """
    if strike_type == 2:
        return leadership
    if strike_type == 1:
        return infra
    return 0.5 * infra


@njit(cache=True)
def discipline_after_strike(discipline: float, strike_type: int, hit: float) -> float:
    """Return a faction's discipline after a strike; only leadership strikes lower it.

    Source: S2: after Muhandis's death "it's harder and harder to track everyone" and groups grew
    "increasingly rogue": killing leaders loosens control of the rank and file.
    """
    if strike_type != 2:
        return discipline
    d = discipline * (1.0 - hit)
    if d < 0.0:
        d = 0.0
    return d


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
    if killed > 0 and (target == S.T_STATE or target == S.T_PM or target == S.T_ACTIVIST):
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
def open_share(total_weight: float, prefs: np.ndarray) -> float:
    """Return the share of a faction's target preferences that is open today (0 if none).

    Source: Poisson thinning (see ``attack_probability``).
    """
    s = 0.0
    for t in range(prefs.shape[0]):
        s += prefs[t]
    if s <= 0.0:
        return 0.0
    return total_weight / s


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
def deniable_shift(exposure: float, deniability: float) -> float:
    """Return the factor on an exposed faction's convoy weight (1 = no shift).

    A faction raided by the state turns, for a while, to deniable means: roadside IEDs on
    convoys, claimed by fronts, instead of rockets on bases and the embassy. The shift is a
    substitution: it changes which target an attack goes to, not how often the faction attacks.

    Source: S1 (attacks by fronts "to carry out attacks without bearing the consequences"); S2
    (after the 26 June 2020 raid, "after a brief hiatus, rocket attacks resumed, this time claimed
    by shadowy new groups"); tallies T10 and T11 (13 convoy IEDs in Aug 2020, 9 in 1-12 Sep 2020)
    after the raid of events.csv 2020-06-25; events.csv 2021-12-09 (convoy IEDs claimed by Ashab
    al-Kahf).
    """
    x = 1.0 + deniability * exposure
    if x < 1.0:
        x = 1.0
    return x


@njit(cache=True)
def shift_to_deniable(weights: np.ndarray, total: float, factor: float) -> float:
    """Multiply the convoy weight in ``weights`` by ``factor``; return the new total.

    Used for the choice of target only (``choose_index``); the attack probability uses the
    unshifted total (see ``deniable_shift``). Source: as ``deniable_shift``.
    """
    old = weights[S.T_CONVOY]
    weights[S.T_CONVOY] = old * factor
    return total - old + weights[S.T_CONVOY]
