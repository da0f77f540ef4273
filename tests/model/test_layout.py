"""The array layout both engines share: codes are unique, dense and consistent."""

import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, Field

from sim import vocab as V
from sim.model import layout as L
from sim.scenario.schema import Faction, PMParams


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
            "G_PATHS",
            "G_PATH_INDEX",
            "FP_NAMES",
            "FP_INDEX",
            "FP_PATHS",
            "FP_PATH_INDEX",
        }
        assert declared == {prefix + n.upper() for n in names}


def test_each_index_constant_line_names_its_schema_path():
    # the explicit lines read ``G_US_STRIKE_RATE = _G("us.strike_rate")``: the constant's name is
    # the short name of the path it looks up, and every parameter has exactly one such line
    text = Path(L.__file__).read_text()
    lines = re.findall(r'^([GF])_([A-Z0-9_]+) = _([GF])\("([a-z0-9_.]+)"\)$', text, re.M)
    g = {path: name for kind, name, look, path in lines if kind == look == "G"}
    f = {path: name for kind, name, look, path in lines if kind == look == "F"}
    assert len(g) + len(f) == len(lines)
    assert g == {p: n.upper() for p, n in zip(L.G_PATHS, L.G_NAMES, strict=True)}
    assert f == {p: n.upper() for p, n in zip(L.FP_PATHS, L.FP_NAMES, strict=True)}


def test_global_layout_walks_the_schema_sections_in_order():
    expected = []
    for section, _, model in L.GLOBAL_SECTIONS:
        for name, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                expected += [f"{section}.{name}.{sub}" for sub in field.annotation.model_fields]
            elif name != "agencies":  # the agencies are the AP and control matrices
                expected.append(f"{section}.{name}")
    assert list(L.G_PATHS) == expected
    assert [s for s, _, _ in L.GLOBAL_SECTIONS] == ["us", "militia", "iran", "pm", "truce"]
    assert L.G_PATHS[L.G_M_LETHALITY_DRONE] == "militia.lethality.drone"
    assert L.G_NAMES[L.G_PM_LEGITIMACY0] == "pm_legitimacy0"  # a SHORT_NAMES entry
    assert "name" not in L.FP_PATHS and L.FP_PATHS[L.F_N_FRONTS] == "fronts"


def test_a_new_schema_field_appears_in_the_derived_layout():
    class MorePM(PMParams):
        patience: float = Field(0.5, ge=0.0, le=1.0, description="a test parameter")

    class MoreFaction(Faction):
        zeal: float = 0.0
        label: str = ""  # a name, not a parameter

    sections = tuple(
        (s, pre, MorePM if model is PMParams else model) for s, pre, model in L.GLOBAL_SECTIONS
    )
    paths = [p for s, _, model in sections for p in L.schema_paths(model, s + ".")]
    assert paths == list(L.G_PATHS[: L.G_TRUCE_DAYS]) + ["pm.patience"] + list(
        L.G_PATHS[L.G_TRUCE_DAYS :]
    )
    assert L.short_name("pm.patience", "pm") == "pm_patience"
    assert L.schema_paths(MoreFaction) == (*L.FP_PATHS, "zeal")


def test_parameter_path_index_and_its_inverse():
    assert L.parameter_path_index("militia.beta_deterrence") == L.G_M_BETA_DETERRENCE
    assert L.parameter_path_index("us.strike_rate") == L.G_INDEX["us_strike_rate"]
    assert L.parameter_path_index("militia.lethality.ied") == L.G_M_LETHALITY_IED
    for i in range(L.N_G):
        assert L.parameter_path_index(L.parameter_path(i)) == i
    assert L.parameter_path(L.G_TRUCE_BREAKDOWN) == "truce.breakdown"
    assert L.faction_path_index("targets.convoy") == L.F_TARGET_CONVOY
    with pytest.raises(KeyError, match="not a global parameter"):
        L.parameter_path_index("militia.lethality")  # a group, not a parameter
    with pytest.raises(KeyError, match="not a global parameter"):
        L.parameter_path_index("us_strike_rate")  # a short name, not a path
    with pytest.raises(IndexError):
        L.parameter_path(L.N_G)
    with pytest.raises(KeyError, match="not a faction parameter"):
        L.faction_path_index("name")


def test_only_names_and_the_agency_list_stay_out_of_the_parameter_vectors():
    # a new field of a type the layout cannot hold (a list of numbers, a map) must fail here
    # rather than silently miss the arrays
    def left_out(model, paths, prefix):
        return {
            prefix + name
            for name in model.model_fields
            if not any(p == prefix + name or p.startswith(prefix + name + ".") for p in paths)
        }

    g = set().union(*(left_out(m, L.G_PATHS, s + ".") for s, _, m in L.GLOBAL_SECTIONS))
    assert g == {"iran.agencies"}  # the AP and control matrices
    assert left_out(Faction, L.FP_PATHS, "") == {"name"}  # the roster
