"""Array layout of world state, shared by the Mesa model and the numba kernel.

Everything the engines exchange is an integer code or a float index into a parameter vector.
Both engines import these constants; numba treats module-level integers as compile-time
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
US_TARGETS = (T_US_BASE, T_US_EMBASSY, T_CONVOY)

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


# --- decision codes (the fifth coordinate of every random draw) --------------------------------
R_NOISE = 1
R_ATTACK = 2
R_TARGET = 3
R_WEAPON = 4
R_CLAIM = 5
R_INTERCEPT = 6
R_KILL = 7
R_KILL_COUNT = 8
R_US_VICTIM = 9
R_ATTRIBUTE = 10
R_STRIKE = 11
R_STRIKE_KILLED = 12
R_REDRAW = 13
R_DIRECTIVE = 14
R_ARREST = 15
R_RELEASE = 16
R_MEDIATE = 17
R_COMPLY = 18
R_BREAKDOWN = 19

# --- global parameter vector G --------------------------------------------------------------------
G_NAMES = (
    # US forces
    "us_doctrine",
    "us_attribution",
    "us_attribution_front",
    "us_strike_rate",
    "us_red_line",
    "us_red_line_strike",
    "us_cooldown_days",
    "us_air_defence_rocket",
    "us_air_defence_drone",
    "us_posture",
    "us_degrade_infrastructure",
    "us_degrade_leadership",
    "us_leadership_discipline_hit",
    "us_strike_grievance",
    "us_strike_grievance_allies",
    "us_credibility_jump",
    "us_credibility_tau",
    "us_threat_deterrence",
    "us_victim_share",
    "us_blame_tau",
    # militia behaviour (shared by all factions)
    "m_beta_grievance",
    "m_beta_directive",
    "m_beta_deterrence",
    "m_excitation_jump",
    "m_excitation_tau",
    "m_grievance_tau",
    "m_noise",
    "m_lethality_rocket",
    "m_lethality_ied",
    "m_lethality_drone",
    "m_lethality_small_arms",
    "m_state_targeting",
    "m_deniability",
    "m_exposure_tau",
    # Iranian agencies
    "ir_unified",
    "ir_qf_control_after",
    "ir_fragmentation_noise",
    "ir_appetite",
    "ir_appetite_lead_days",
    "ir_directive_days",
    "ir_revenge",
    "ir_revenge_tau",
    "ir_truce_calm",
    # prime minister
    "pm_crackdown",
    "pm_pressure_tau",
    "pm_release",
    "pm_legitimacy0",
    "pm_legitimacy_loss",
    "pm_backfire_grievance",
    "pm_backfire_excitation",
    "pm_arrest_grievance",
    "pm_mediation",
    "pm_air_defence_drone",
    # truces
    "truce_days",
    "truce_suppression",
    "truce_convoy_leak",
    "truce_breakdown",
)
G_INDEX = {name: i for i, name in enumerate(G_NAMES)}
N_G = len(G_NAMES)
for _i, _name in enumerate(G_NAMES):
    globals()["G_" + _name.upper()] = _i

# --- per-faction parameter matrix FP (one row per faction) --------------------------------------
FP_NAMES = (
    "base_rate",
    "stock_rocket",
    "stock_ied",
    "stock_drone",
    "stock_small_arms",
    "resupply_rocket",
    "resupply_ied",
    "resupply_drone",
    "resupply_small_arms",
    "max_rocket",
    "max_ied",
    "max_drone",
    "max_small_arms",
    "drones_from_day",
    "discipline",
    "front_share",
    "n_fronts",
    "truce_compliance",
    "grievance_us0",
    "grievance_state0",
    "strength",
    "election_loss",
    "target_us_base",
    "target_us_embassy",
    "target_convoy",
    "target_iraqi_state",
    "target_pm",
    "target_activist",
    "weapon_rocket",
    "weapon_ied",
    "weapon_drone",
    "weapon_small_arms",
)
FP_INDEX = {name: i for i, name in enumerate(FP_NAMES)}
N_FP = len(FP_NAMES)
for _i, _name in enumerate(FP_NAMES):
    globals()["F_" + _name.upper()] = _i

# Agency parameters: one row per agency.
AP_NAMES = ("hawkishness",)
N_AP = len(AP_NAMES)
A_HAWKISHNESS = 0

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
)

# Event record columns (int32 matrix rows in the kernel, tuples in the Mesa model).
E_DAY = 0
E_ACTOR = 1
E_KIND = 2
E_WEAPON = 3
E_TARGET = 4
E_CLAIMED = 5
E_KILLED = 6
E_SUBJECT = 7
E_DETAIL = 8
E_FORCED = 9
E_INTERCEPTED = 10
E_US_KILLED = 11
N_ECOLS = 12
