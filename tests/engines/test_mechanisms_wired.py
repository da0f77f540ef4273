"""The mechanisms of issue 10 once wired: both engines agree with them switched on, and each
moves the model the way its source says (small runs, stated thresholds)."""

import numpy as np

from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.engines.mesa.model import run_mesa
from sim.model import layout as L
from sim.model.world import compile_world
from tests.conftest import build

ACTIVE = {
    "iran": {
        "dominance": 0.7,
        "coordination": 0.5,
        "event_reconsider": 0.9,
        "soleimani_exclusive": 1.0,
        "takeover_days": 200.0,
        "restraint": 3.0,
        "restraint_us_deaths": 1.0,
        "war_appetite": 1.0,
        "campaign_appetite": 1.5,
        "agencies": [
            {"name": "MOIS", "hawkishness": -1.0, "control": {"B": 0.5}, "voice": 0.5},
            {"name": "IRGC-QF", "hawkishness": 0.5, "control": {"A": 0.8, "B": 0.3}},
            {"name": "Beit Rahbari", "hawkishness": 1.0, "control": {"A": 0.5}, "voice": 2.0},
        ],
    },
    "militia": {"front_shift": 1.0, "hiatus": 1.0, "pm_before_election": 0.0, "state_turn": 1.0},
    "pm": {
        "own_evidence": 1.0,
        "raid_seizure": 0.5,
        "conviction_days": 10.0,
        "conviction_legitimacy": 0.1,
        "legitimacy_recovery_tau": 60.0,
    },
}


def _with(extra):
    sc = build(ACTIVE)
    base = sc.model_dump(mode="json")
    base["injects"] = base["injects"] + extra
    return build(base, base=base)


def test_kernel_equals_mesa_with_every_mechanism_on():
    sc = _with(
        [
            {"date": "2020-04-01", "kind": "regional_war", "days": 60},
            {"date": "2020-07-01", "kind": "pressure_campaign", "days": 40},
        ]
    )
    world = compile_world(sc)
    (rm, im), (rk, ik) = run_mesa(world, 0, 3), run_kernel(world, 0, 3)
    assert rm.shape == rk.shape and (rm == rk).all() and (im == ik).all()


def test_no_attack_on_the_pm_before_the_first_election():
    world = compile_world(build(ACTIVE))
    rec, _ = run_kernel(world, 0, 20)
    election_day = (np.datetime64("2020-09-01") - np.datetime64("2020-01-01")).astype(int)
    on_pm = (rec[:, L.E_KIND] == V.K_ATTACK) & (rec[:, L.E_TARGET] == V.T_PM)
    assert on_pm.any()  # the PM is a target after the election ...
    assert (rec[on_pm, L.E_DAY] >= election_day).all()  # ... and never before it
