import numpy as np

from sim import vocab as V
from sim.model import layout as L
from sim.model.world import J_DAY, J_KIND, compile_world
from tests.conftest import build


def test_dates_become_days_and_injects_are_sorted():
    w = compile_world(build())
    assert w.n_days == 366 and w.switch_day == w.n_days
    assert (np.diff(w.injects[:, J_DAY]) >= 0).all()
    assert w.injects[0, J_DAY] == 31  # 2020-02-01
    assert w.fp[0, L.F_DRONES_FROM_DAY] == 60
    assert list(w.negotiation_days) == [274.0]


def test_policy_switch_and_dropped_injects():
    w = compile_world(
        build(
            {
                "policy": {
                    "start": "2020-04-01",
                    "us": {"doctrine": "leadership"},
                    "drop_injects": ["truce", "arrest"],
                }
            }
        )
    )
    assert w.switch_day == 91 and w.outcome_day == 91
    assert w.g_before[L.G_US_DOCTRINE] == V.DOC_PROPORTIONAL
    assert w.g_after[L.G_US_DOCTRINE] == V.DOC_LEADERSHIP
    kinds = set(w.injects[:, J_KIND].astype(int))
    assert V.I_TRUCE not in kinds and V.I_ARREST not in kinds and V.I_US_STRIKE in kinds
    # only the differing parameter differs
    assert (w.g_before != w.g_after).sum() == 1


def test_control_matrix_and_actor_names():
    w = compile_world(build())
    assert w.control[V.AGENCIES.index("IRGC-QF"), 0] == 0.8
    assert w.actor_names()[-2:] == ["US", "PM"] and len(w.actor_names()) == 2 + 4 + 2


def test_policy_pm_settings_apply_at_the_switch_even_when_equal_to_the_baseline_start():
    from sim.engines.kernel import run_kernel
    from sim.engines.mesa.model import run_mesa

    # baseline starts at crackdown 0.5 and a new PM (2020-11-01) sets 0.8; a policy setting 0.5
    # from 2020-12-01 must bring it back to 0.5 although 0.5 equals the baseline's start value
    sc = build({"policy": {"start": "2020-12-01", "pm": {"crackdown": 0.0, "legitimacy": 0.2}}})
    w = compile_world(sc)
    row = w.injects[w.injects[:, J_KIND] == V.I_PM_POLICY]
    assert row.shape[0] == 1 and row[0, J_DAY] == w.switch_day
    same_day = w.injects[w.injects[:, J_DAY] == w.switch_day]
    assert same_day[0, J_KIND] == V.I_PM_POLICY
    rec, _ = run_kernel(w, 0, 200)
    arrests = rec[(rec[:, L.E_KIND] == V.K_ARREST) & (rec[:, L.E_FORCED] == 0)]
    assert (arrests[:, L.E_DAY] < w.switch_day).all()  # crackdown 0 after the switch
    mesa = run_mesa(w, 0, 2)
    k2 = run_kernel(w, 0, 2)
    assert (mesa[0] == k2[0]).all()


def test_every_parameter_is_read_from_its_schema_path():
    import typing

    sc = build(
        {
            "iran": {"unified": True},
            "us": {"doctrine": "infrastructure", "strike_rate": 0.125},
            "militia": {"lethality": {"drone": 0.375}},
        }
    )
    w = compile_world(sc)
    # choices are coded by their position in the schema's Literal, which is the vocabulary
    assert typing.get_args(type(sc.us).model_fields["doctrine"].annotation) == V.DOCTRINES
    assert w.g_before[L.G_US_DOCTRINE] == V.DOC_INFRASTRUCTURE
    assert w.g_before[L.parameter_path_index("us.strike_rate")] == 0.125
    assert w.g_before[L.G_M_LETHALITY_DRONE] == 0.375
    assert w.g_before[L.G_IR_UNIFIED] == 1.0  # booleans are 0/1
    assert w.g_before[L.G_PM_LEGITIMACY0] == sc.pm.legitimacy
    f = sc.factions[0]
    assert w.fp[0, L.F_N_FRONTS] == len(f.fronts)  # a tuple of names is its length
    assert w.fp[0, L.F_TARGET_CONVOY] == f.targets.convoy
    for i, path in enumerate(L.G_PATHS):
        section, *rest = path.split(".")
        value = getattr(sc, section)
        for part in rest:
            value = getattr(value, part)
        if not isinstance(value, str):
            assert w.g_before[i] == float(value), path


def test_an_absent_date_is_minus_one():
    sc = build()
    f = sc.factions[0].model_copy(update={"drones_from": None})
    w = compile_world(sc.model_copy(update={"factions": (f, *sc.factions[1:])}))
    assert w.fp[0, L.F_DRONES_FROM_DAY] == -1


def test_a_new_schema_field_is_compiled_without_editing_the_world(monkeypatch):
    from sim.model import world as W
    from sim.scenario.schema import PMParams

    class MorePM(PMParams):
        patience: float = 0.5

    models = {s: (MorePM if m is PMParams else m) for s, _, m in L.GLOBAL_SECTIONS}
    paths = tuple(p for s, m in models.items() for p in L.schema_paths(m, s + "."))
    n_before = L.N_G
    monkeypatch.setattr(L, "G_PATHS", paths)
    monkeypatch.setattr(L, "N_G", len(paths))
    sc = build()
    sections = {s: getattr(sc, s) for s in models}
    sections["pm"] = MorePM(**sc.pm.model_dump(), patience=0.25)
    g = W._global_vector(sections, sc.start)
    assert len(g) == n_before + 1 and g[paths.index("pm.patience")] == 0.25
    assert g[paths.index("pm.legitimacy")] == sc.pm.legitimacy
