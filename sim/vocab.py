"""The model's vocabularies and their integer codes, declared once.

Weapons, targets, event kinds, agencies, doctrines, strike types, event details and inject kinds:
their names (the order is part of the event-log contract) and the codes the engines use.
Every other module takes these from here; numba treats module-level integers as compile-time
constants.
"""

from __future__ import annotations

# --- vocabularies (order is part of the event-log contract) -----------------------------------
WEAPONS = ("rocket", "ied", "drone", "small_arms")
TARGETS = ("us_base", "us_embassy", "convoy", "iraqi_state", "pm", "activist")
AGENCIES = ("MOIS", "IRGC-QF", "Beit Rahbari", "SL Office")
KINDS = (
    "attack",
    "attribution",
    "us_strike",
    "arrest",
    "release",
    "truce_start",
    "truce_end",
    "directive",
    "threat",
    "decapitation",
    "election",
    "new_pm",
    "negotiation",
)
STRIKE_TYPES = ("proportional", "infrastructure", "leadership")
DOCTRINES = ("none", "proportional", "infrastructure", "leadership")
DETAILS = ("", "calm", "escalate", "comply", "spoiler") + STRIKE_TYPES + ("expired", "breakdown")

W_ROCKET, W_IED, W_DRONE, W_SMALL = 0, 1, 2, 3
N_WEAPONS = 4
T_US_BASE, T_US_EMBASSY, T_CONVOY, T_STATE, T_PM, T_ACTIVIST = 0, 1, 2, 3, 4, 5
N_TARGETS = 6
N_AGENCIES = 4

K_ATTACK = 0
K_ATTRIBUTION = 1
K_US_STRIKE = 2
K_ARREST = 3
K_RELEASE = 4
K_TRUCE_START = 5
K_TRUCE_END = 6
K_DIRECTIVE = 7
K_THREAT = 8
K_DECAPITATION = 9
K_ELECTION = 10
K_NEW_PM = 11
K_NEGOTIATION = 12

D_NONE, D_CALM, D_ESCALATE, D_COMPLY, D_SPOILER = 0, 1, 2, 3, 4
D_PROPORTIONAL, D_INFRASTRUCTURE, D_LEADERSHIP = 5, 6, 7
D_EXPIRED, D_BREAKDOWN = 8, 9

DOC_NONE, DOC_PROPORTIONAL, DOC_INFRASTRUCTURE, DOC_LEADERSHIP = 0, 1, 2, 3

# Weapon-target compatibility (rows: targets, columns: weapons). Sources: convoy attacks are
# roadside IEDs (reference T10/T11); assassinations of activists and officers are shootings
# (seed 002, reference 2020-07-06 and 2021-06-07); the PM's residence was hit by drones
# (seed 000, seed 003); US sites and INIS were hit by rockets and drones (reference rows).
COMPAT = (
    (1, 0, 1, 0),  # us_base
    (1, 0, 1, 0),  # us_embassy
    (0, 1, 0, 0),  # convoy
    (1, 0, 1, 1),  # iraqi_state
    (1, 0, 1, 0),  # pm
    (0, 0, 0, 1),  # activist
)

# "US target", defined once: the targets an attack on which counts as an attack on US forces
# (in outcomes, rules, figures and calibration). The other targets are Iraqi.
US_TARGET_NAMES = ("us_base", "us_embassy", "convoy")
US_TARGETS = tuple(TARGETS.index(name) for name in US_TARGET_NAMES)
"""Target codes of the US targets."""
IS_US_TARGET = tuple(int(name in US_TARGET_NAMES) for name in TARGETS)
"""1 at the code of each US target (``IS_US_TARGET[t]`` inside numba)."""
STATE_TARGET_NAMES = tuple(name for name in TARGETS if name not in US_TARGET_NAMES)

# --- actor codes -------------------------------------------------------------------------------
# Factions are 0..F-1; then the four agencies, then US and PM.


def agency_actor(n_factions: int, agency: int) -> int:
    """Return the actor code of agency ``agency`` in a world with ``n_factions`` factions."""
    return n_factions + agency


def us_actor(n_factions: int) -> int:
    """Return the actor code of the US forces."""
    return n_factions + N_AGENCIES


def pm_actor(n_factions: int) -> int:
    """Return the actor code of the prime minister."""
    return n_factions + N_AGENCIES + 1


# Inject kinds (forced timeline events).
I_US_STRIKE = 0
I_DECAPITATION = 1
I_TRUCE = 2
I_TRUCE_END = 3
I_ARREST = 4
I_THREAT = 5
I_ELECTION = 6
I_NEW_PM = 7
I_NEGOTIATION = 8
I_PM_POLICY = 9  # internal: a policy's pm.crackdown / pm.legitimacy taking effect (no event)
I_REGIONAL_WAR = 10  # a regional war raising Iran's appetite for `days` (ODD 6.2)
INJECT_KINDS = (
    "us_strike",
    "decapitation",
    "truce",
    "truce_end",
    "arrest",
    "threat",
    "election",
    "new_pm",
    "negotiation",
    "pm_policy",  # internal: I_PM_POLICY (never written in a scenario file)
    "regional_war",
    "attack",
    "faction_policy",  # internal: I_FACTION_POLICY (never written in a scenario file)
    "pressure_campaign",
)
I_ATTACK = 11  # a forced attack: faction, weapon, target, claim (the 7 Nov 2021 drone strike)
I_FACTION_POLICY = 12  # internal: a policy's `factions:` lever taking effect (no event)
I_PRESSURE_CAMPAIGN = 13  # a pressure campaign before talks on the US presence (ODD 6.2)
# The code of each inject kind: its position in INJECT_KINDS (the engines read these codes).
INJECT_CODES = {kind: code for code, kind in enumerate(INJECT_KINDS)}
