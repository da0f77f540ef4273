"""The array layout both engines share: codes are unique, dense and consistent."""

import numpy as np

from sim import state as S


def test_parameter_indices_are_dense_and_named():
    assert [S.G_INDEX[n] for n in S.G_NAMES] == list(range(S.N_G))
    assert len(set(S.G_NAMES)) == S.N_G
    assert [S.FP_INDEX[n] for n in S.FP_NAMES] == list(range(S.N_FP))
    assert S.G_INDEX["us_doctrine"] == S.G_US_DOCTRINE
    assert S.FP_INDEX["base_rate"] == S.F_BASE_RATE


def test_per_weapon_and_per_target_columns_are_contiguous_in_vocabulary_order():
    for prefix in ("stock_", "resupply_", "max_", "weapon_"):
        cols = [S.FP_INDEX[prefix + w] for w in S.WEAPONS]
        assert cols == list(range(cols[0], cols[0] + S.N_WEAPONS))
    cols = [S.FP_INDEX["target_" + t] for t in S.TARGETS]
    assert cols == list(range(cols[0], cols[0] + S.N_TARGETS))
    lethality = [S.G_INDEX["m_lethality_" + w] for w in S.WEAPONS]
    assert lethality == list(range(lethality[0], lethality[0] + S.N_WEAPONS))


def test_vocabulary_codes_match_their_tuples():
    assert S.KINDS[S.K_ATTACK] == "attack" and S.KINDS[S.K_NEGOTIATION] == "negotiation"
    assert S.TARGETS[S.T_CONVOY] == "convoy" and S.WEAPONS[S.W_IED] == "ied"
    assert S.DETAILS[S.D_LEADERSHIP] == "leadership" and S.DETAILS[S.D_BREAKDOWN] == "breakdown"
    assert S.INJECT_KINDS[S.I_NEGOTIATION] == "negotiation"
    assert S.DOCTRINES[S.DOC_LEADERSHIP] == "leadership"


def test_compatibility_table():
    compat = np.array(S.COMPAT)
    assert compat.shape == (S.N_TARGETS, S.N_WEAPONS)
    assert (compat.sum(axis=1) >= 1).all()  # every target can be hit by some weapon
    assert compat[S.T_CONVOY].tolist() == [0, 1, 0, 0]  # convoys: roadside IEDs only
    assert compat[S.T_ACTIVIST].tolist() == [0, 0, 0, 1]  # activists: shootings only


def test_actor_codes_follow_factions():
    assert S.agency_actor(5, 0) == 5 and S.us_actor(5) == 9 and S.pm_actor(5) == 10
    decisions = [v for k, v in vars(S).items() if k.startswith("R_")]
    assert len(decisions) == len(set(decisions))  # every decision draws its own number
