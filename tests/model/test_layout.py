"""The array layout both engines share: codes are unique, dense and consistent."""

import numpy as np

from sim import vocab as V
from sim.model import layout as L


def test_parameter_indices_are_dense_and_named():
    assert [L.G_INDEX[n] for n in L.G_NAMES] == list(range(L.N_G))
    assert len(set(L.G_NAMES)) == L.N_G
    assert [L.FP_INDEX[n] for n in L.FP_NAMES] == list(range(L.N_FP))
    assert L.G_INDEX["us_doctrine"] == L.G_US_DOCTRINE
    assert L.FP_INDEX["base_rate"] == L.F_BASE_RATE


def test_per_weapon_and_per_target_columns_are_contiguous_in_vocabulary_order():
    for prefix in ("stock_", "resupply_", "max_", "weapon_"):
        cols = [L.FP_INDEX[prefix + w] for w in V.WEAPONS]
        assert cols == list(range(cols[0], cols[0] + V.N_WEAPONS))
    cols = [L.FP_INDEX["target_" + t] for t in V.TARGETS]
    assert cols == list(range(cols[0], cols[0] + V.N_TARGETS))
    lethality = [L.G_INDEX["m_lethality_" + w] for w in V.WEAPONS]
    assert lethality == list(range(lethality[0], lethality[0] + V.N_WEAPONS))


def test_vocabulary_codes_match_their_tuples():
    assert V.KINDS[V.K_ATTACK] == "attack" and V.KINDS[V.K_NEGOTIATION] == "negotiation"
    assert V.TARGETS[V.T_CONVOY] == "convoy" and V.WEAPONS[V.W_IED] == "ied"
    assert V.DETAILS[V.D_LEADERSHIP] == "leadership" and V.DETAILS[V.D_BREAKDOWN] == "breakdown"
    assert V.INJECT_KINDS[V.I_NEGOTIATION] == "negotiation"
    assert V.DOCTRINES[V.DOC_LEADERSHIP] == "leadership"


def test_compatibility_table():
    compat = np.array(V.COMPAT)
    assert compat.shape == (V.N_TARGETS, V.N_WEAPONS)
    assert (compat.sum(axis=1) >= 1).all()  # every target can be hit by some weapon
    assert compat[V.T_CONVOY].tolist() == [0, 1, 0, 0]  # convoys: roadside IEDs only
    assert compat[V.T_ACTIVIST].tolist() == [0, 0, 0, 1]  # activists: shootings only


def test_actor_codes_follow_factions():
    assert V.agency_actor(5, 0) == 5 and V.us_actor(5) == 9 and V.pm_actor(5) == 10
    decisions = [v for k, v in vars(L).items() if k.startswith("R_")]
    assert len(decisions) == len(set(decisions))  # every decision draws its own number


def test_every_index_constant_matches_its_name_tuple():
    for prefix, names in (("G_", L.G_NAMES), ("F_", L.FP_NAMES)):
        for i, name in enumerate(names):
            assert getattr(L, prefix + name.upper()) == i, prefix + name.upper()
        declared = {k for k in vars(L) if k.startswith(prefix) and k.isupper()} - {
            "G_NAMES",
            "G_INDEX",
            "FP_NAMES",
            "FP_INDEX",
        }
        assert declared == {prefix + n.upper() for n in names}
