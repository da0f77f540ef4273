"""Decision rules of the militia factions: whether, what and how to attack (ODD section 7).

Seeds: S1 Middle East Eye (Mar 2021); S2 Washington Post on the Hashimi killing (Jul 2020);
S3 JINSA brief on the drone strike on the PM (Nov 2021).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim import vocab as V
from sim.model.rules.us import DOCTRINE_RATE

COMPAT = np.array(V.COMPAT, dtype=np.int64)
# Deterrent weight of each doctrine (none, proportional, infrastructure, leadership): the expected
# severity of a retaliatory strike relative to a proportional one (assumed values). Leadership
# strikes are the severest option argued for in S3 ("targeting leadership elements").
DOCTRINE_SEVERITY = np.array([0.0, 1.0, 1.5, 2.5])


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
    if target == V.T_CONVOY:
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
    if weapon == V.W_DRONE and drones_ok == 0:
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
    for t in range(V.N_TARGETS):
        open_ = 0
        for w in range(V.N_WEAPONS):
            if COMPAT[t, w] == 1 and avail[w] == 1:
                open_ = 1
                break
        wt = 0.0
        if open_ == 1:
            wt = prefs[t]
            if t == V.T_US_BASE or t == V.T_CONVOY:
                wt *= us_posture
            if t == V.T_STATE or t == V.T_PM or t == V.T_ACTIVIST:
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

    Source: Poisson thinning of a daily attack intensity (Lewis and Shedler 1979); zero
    capability gives zero attacks.
    """
    lam = intensity * open_share
    if lam <= 0.0:
        return 0.0
    return 1.0 - math.exp(-lam)


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
    for w in range(V.N_WEAPONS):
        if COMPAT[target, w] == 1 and weapon_available(w, stocks, drones_ok) == 1:
            total += prefs[w]
    if total <= 0.0:
        # preferences are zero for every open weapon: fall back to the first open weapon
        for w in range(V.N_WEAPONS):
            if COMPAT[target, w] == 1 and weapon_available(w, stocks, drones_ok) == 1:
                return w
        return -1
    x = u * total
    acc = 0.0
    last = -1
    for w in range(V.N_WEAPONS):
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
def open_share(total_weight: float, prefs: np.ndarray) -> float:
    """Return the share of a faction's target preferences that is open today (0 if none).

    Source: Poisson thinning (Lewis and Shedler 1979; see ``attack_probability``).
    """
    s = 0.0
    for t in range(prefs.shape[0]):
        s += prefs[t]
    if s <= 0.0:
        return 0.0
    return total_weight / s


@njit(cache=True)
def deniable_shift(exposure: float, deniability: float) -> float:
    """Return the factor on an exposed faction's convoy weight (1 = no shift).

    A faction raided by the state shifts, for a while, the choice of target towards convoys
    (roadside IEDs). The shift is a substitution: it changes which target an attack goes to, not
    how often the faction attacks.

    Source: tallies T10 and T11 (13 convoy IEDs in Aug 2020, 9 in 1-12 Sep 2020), which follow
    the raid of events.csv 2020-06-25; nothing more. This is a calibration device, not a
    mechanism of the seeds: S2 says that after the raid *rockets* resumed under front names (see
    ``exposed_front_share`` and ``raid_hiatus``), not that raided factions turned to convoy IEDs,
    and no source links the convoy IEDs of Aug-Sep 2020 to the raided faction. Kept (calibrated,
    ``militia.deniability``) until the front-shift rules are calibrated; set
    ``militia.deniability: 0`` to switch it off (ODD A28).
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
    old = weights[V.T_CONVOY]
    weights[V.T_CONVOY] = old * factor
    return total - old + weights[V.T_CONVOY]


@njit(cache=True)
def exposed_front_share(front_share: float, exposure: float, front_shift: float) -> float:
    """Return the share of a raided faction's attacks claimed through its fronts.

    A faction exposed by a raid keeps attacking the same targets with the same weapons but
    claims more of its attacks through front groups: ``f + (1 - f)(1 - exp(-front_shift x
    exposure))``. ``front_shift = 0`` (or no exposure) returns ``front_share`` unchanged. Only a
    faction with named fronts can claim through them (``choose_claim``; ODD A8).

    Source: S2: after the raid of 26 June 2020 (events.csv 2020-06-25), "after a brief hiatus,
    rocket attacks resumed, this time claimed by shadowy new groups that Iraqi and U.S. security
    officials suspect to be fronts for well-known militias"; S1: fronts invented "to carry out
    attacks without bearing the consequences".
    """
    if front_shift <= 0.0 or exposure <= 0.0:
        return front_share
    f = front_share
    if f < 0.0:
        f = 0.0
    if f > 1.0:
        f = 1.0
    return f + (1.0 - f) * (1.0 - math.exp(-front_shift * exposure))


@njit(cache=True)
def raid_hiatus(exposure: float, hiatus: float) -> float:
    """Return the factor on a raided faction's attack intensity right after a raid (<= 1).

    ``exp(-hiatus x exposure)``: attacks pause while the raid is fresh and resume as exposure
    decays. ``hiatus = 0`` returns 1 (no pause).

    Source: S2: after the raid of 26 June 2020, "after a brief hiatus, rocket attacks resumed"
    (events.csv 2020-06-25, 2020-07-06).
    """
    if hiatus <= 0.0 or exposure <= 0.0:
        return 1.0
    return math.exp(-hiatus * exposure)


@njit(cache=True)
def state_turn_multiplier(
    target: int, elections_past: int, pm_before_election: float, state_turn: float, loss: float
) -> float:
    """Return the factor on a faction's weight for a state target, before or after an election.

    Before the first election of the run the PM is spared (factor ``pm_before_election``; state
    targets such as INIS and officers keep factor 1). After it, the faction's election loss
    ``loss`` turns it against the state: the PM and state targets get ``1 + state_turn x loss``.
    Activists and US targets are unaffected. ``pm_before_election = 1`` and ``state_turn = 0``
    give 1 for every target (today's behaviour).

    Source: S3: until 7 Nov 2021 the militias "have targeted ... Iraqi security forces and
    intelligence officers but never sought to use lethal force against a senior Iraqi official,
    let alone the prime minister"; S0: rockets near INIS HQ on 29 Jul and 31 Oct 2021
    (events.csv 2021-10-31), Nibras Farman killed (events.csv 2021-06-07), AAH, "the main loser in
    the early elections", then suspected of the drone attack on the PM (events.csv 2021-11-07).
    """
    if target != V.T_PM and target != V.T_STATE:
        return 1.0
    if elections_past == 0:
        if target == V.T_PM:
            return pm_before_election
        return 1.0
    x = 1.0 + state_turn * loss
    if x < 0.0:
        x = 0.0
    return x
