"""A policy's ``factions:`` levers (issue 16 item 1): same state change in both engines."""

from __future__ import annotations

import numpy as np

from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.engines.mesa.model import EscalationModel, run_mesa
from sim.model import layout as L
from sim.model import state as S
from sim.model.world import J_KIND, J_SUBJECT, compile_world
from tests.conftest import build
from tests.engines.test_kernel import assert_same

START = "2020-07-01"
SWITCH = 182  # days from 2020-01-01 to 2020-07-01


def _levers(factions: dict) -> dict:
    return {"policy": {"start": START, "factions": factions}}


def test_faction_levers_give_identical_logs_in_both_engines():
    sc = build(_levers({"A": {"discipline": 0.1, "stocks": {"rocket": 0}}, "B": None}))
    world = compile_world(sc)
    assert_same(run_mesa(world, 0, 3), run_kernel(world, 0, 3))


def test_levers_are_rows_on_the_start_day_before_that_days_injects():
    world = compile_world(build(_levers({"A": {"discipline": 0.1, "grievance_us": 2.0}})))
    rows = world.injects[world.injects[:, J_KIND] == V.I_FACTION_POLICY]
    assert len(rows) == 2 and (rows[:, 0] == SWITCH).all() and (rows[:, J_SUBJECT] == 0).all()
    first_of_day = world.injects[world.injects[:, 0] == SWITCH][0]
    assert first_of_day[J_KIND] == V.I_FACTION_POLICY


def test_levers_set_the_state_on_the_start_day_and_not_before():
    sc = build(_levers({"A": {"discipline": 0.1, "stocks": {"rocket": 0, "ied": 1}}}))
    model = EscalationModel(compile_world(sc), rep=2)
    for _ in range(SWITCH):  # days 0 .. SWITCH - 1
        model.step()
    a = model.militias[0]
    assert a.discipline != 0.1 and a.stocks[0] > 0
    model.step()  # the start day: the lever applies in phase 1, before A's turn
    assert a.discipline == 0.1
    # A may have spent a load today; at most one
    assert a.stocks[0] == 0.0 and a.stocks[1] in (0.0, 1.0)


def test_a_faction_that_stands_down_makes_no_attack_from_the_start():
    plain = compile_world(build())
    down = compile_world(build(_levers({"B": None})))
    rec, _ = run_kernel(down, 0, 20)
    base, _ = run_kernel(plain, 0, 20)
    b_attacks = (rec[:, L.E_KIND] == V.K_ATTACK) & (rec[:, L.E_ACTOR] == 1)
    assert b_attacks.any()  # it attacked before the start ...
    assert (rec[b_attacks, L.E_DAY] < SWITCH).all()  # ... and never after
    after_in_base = (base[:, L.E_KIND] == V.K_ATTACK) & (base[:, L.E_ACTOR] == 1)
    assert (base[after_in_base, L.E_DAY] >= SWITCH).any()  # without the policy it would have
    # common random numbers: the histories coincide up to the start
    assert np.array_equal(rec[rec[:, L.E_DAY] < SWITCH], base[base[:, L.E_DAY] < SWITCH])


def test_base_rate_starts_as_written_so_a_run_without_levers_is_unchanged():
    world = compile_world(build())
    model = EscalationModel(world)
    assert list(model.state.fs[:, S.FS_BASE_RATE]) == list(world.fp[:, L.F_BASE_RATE])
