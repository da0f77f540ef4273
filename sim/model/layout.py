"""Array layout of the model: parameter vectors, decision codes and event-record columns.

Both engines read a scenario as arrays (``sim.model.world``): the global parameter vector G, the
per-faction parameter matrix FP and the agency matrix AP, indexed by the constants below; every
random draw is keyed by a decision code R_*; every event is a row of E_* columns.
"""

from __future__ import annotations

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
# one index constant per entry (greppable; a test checks them against G_NAMES)
G_US_DOCTRINE = 0
G_US_ATTRIBUTION = 1
G_US_ATTRIBUTION_FRONT = 2
G_US_STRIKE_RATE = 3
G_US_RED_LINE = 4
G_US_RED_LINE_STRIKE = 5
G_US_COOLDOWN_DAYS = 6
G_US_AIR_DEFENCE_ROCKET = 7
G_US_AIR_DEFENCE_DRONE = 8
G_US_POSTURE = 9
G_US_DEGRADE_INFRASTRUCTURE = 10
G_US_DEGRADE_LEADERSHIP = 11
G_US_LEADERSHIP_DISCIPLINE_HIT = 12
G_US_STRIKE_GRIEVANCE = 13
G_US_STRIKE_GRIEVANCE_ALLIES = 14
G_US_CREDIBILITY_JUMP = 15
G_US_CREDIBILITY_TAU = 16
G_US_THREAT_DETERRENCE = 17
G_US_VICTIM_SHARE = 18
G_US_BLAME_TAU = 19
G_M_BETA_GRIEVANCE = 20
G_M_BETA_DIRECTIVE = 21
G_M_BETA_DETERRENCE = 22
G_M_EXCITATION_JUMP = 23
G_M_EXCITATION_TAU = 24
G_M_GRIEVANCE_TAU = 25
G_M_NOISE = 26
G_M_LETHALITY_ROCKET = 27
G_M_LETHALITY_IED = 28
G_M_LETHALITY_DRONE = 29
G_M_LETHALITY_SMALL_ARMS = 30
G_M_STATE_TARGETING = 31
G_M_DENIABILITY = 32
G_M_EXPOSURE_TAU = 33
G_IR_UNIFIED = 34
G_IR_QF_CONTROL_AFTER = 35
G_IR_FRAGMENTATION_NOISE = 36
G_IR_APPETITE = 37
G_IR_APPETITE_LEAD_DAYS = 38
G_IR_DIRECTIVE_DAYS = 39
G_IR_REVENGE = 40
G_IR_REVENGE_TAU = 41
G_IR_TRUCE_CALM = 42
G_PM_CRACKDOWN = 43
G_PM_PRESSURE_TAU = 44
G_PM_RELEASE = 45
G_PM_LEGITIMACY0 = 46
G_PM_LEGITIMACY_LOSS = 47
G_PM_BACKFIRE_GRIEVANCE = 48
G_PM_BACKFIRE_EXCITATION = 49
G_PM_ARREST_GRIEVANCE = 50
G_PM_MEDIATION = 51
G_PM_AIR_DEFENCE_DRONE = 52
G_TRUCE_DAYS = 53
G_TRUCE_SUPPRESSION = 54
G_TRUCE_CONVOY_LEAK = 55
G_TRUCE_BREAKDOWN = 56

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
# one index constant per entry (greppable; a test checks them against FP_NAMES)
F_BASE_RATE = 0
F_STOCK_ROCKET = 1
F_STOCK_IED = 2
F_STOCK_DRONE = 3
F_STOCK_SMALL_ARMS = 4
F_RESUPPLY_ROCKET = 5
F_RESUPPLY_IED = 6
F_RESUPPLY_DRONE = 7
F_RESUPPLY_SMALL_ARMS = 8
F_MAX_ROCKET = 9
F_MAX_IED = 10
F_MAX_DRONE = 11
F_MAX_SMALL_ARMS = 12
F_DRONES_FROM_DAY = 13
F_DISCIPLINE = 14
F_FRONT_SHARE = 15
F_N_FRONTS = 16
F_TRUCE_COMPLIANCE = 17
F_GRIEVANCE_US0 = 18
F_GRIEVANCE_STATE0 = 19
F_STRENGTH = 20
F_ELECTION_LOSS = 21
F_TARGET_US_BASE = 22
F_TARGET_US_EMBASSY = 23
F_TARGET_CONVOY = 24
F_TARGET_IRAQI_STATE = 25
F_TARGET_PM = 26
F_TARGET_ACTIVIST = 27
F_WEAPON_ROCKET = 28
F_WEAPON_IED = 29
F_WEAPON_DRONE = 30
F_WEAPON_SMALL_ARMS = 31

# Agency parameters: one row per agency.
AP_NAMES = ("hawkishness",)
N_AP = len(AP_NAMES)
A_HAWKISHNESS = 0

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
