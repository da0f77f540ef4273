"""The segment engine continues replicates exactly as the kernel runs them, and resamples states."""

import numpy as np

from sim.engines.design import Design, grid
from sim.engines.kernel import run_kernel, run_kernel_design
from sim.engines.segment import States, replicate_keys, run_segment
from sim.model.world import compile_world
from tests.conftest import SCENARIOS, build


def _chained(world, design, points, reps, cuts):
    st = States.initial(world, design, points, replicate_keys(world.seed, reps))
    recs, rows = [], []
    for d1 in cuts:
        r, i = run_segment(world, design, st, d1)
        recs.append(r)
        rows.append(i)
    rec, row = np.concatenate(recs), np.concatenate(rows)
    order = np.argsort(row, kind="stable")  # replicate by replicate, days in order
    return rec[order], row[order]


def test_chained_segments_equal_the_kernel():
    world = compile_world(build())
    design = Design.repeat(world, 1)
    points, reps = grid(1, 6)
    cuts = [0, 17, 120, 121, 250, world.n_days]
    rec, row = _chained(world, design, points, reps, cuts)
    krec, krow = run_kernel(world, 0, 6)
    assert rec.shape == krec.shape and rec.shape[0] > 0
    assert (rec == krec).all() and (row == krow).all()


def test_chained_segments_equal_a_design_run_on_the_historical_scenario():
    from sim.scenario import load_scenario

    world = compile_world(load_scenario(SCENARIOS / "historical.yaml").scenario)
    design = Design.repeat(world, 2)
    design.g_before[1] *= 1.1
    design.g_after[1] *= 1.1
    points, reps = grid(2, 3)
    rec, row = _chained(world, design, points, reps, [200, 400, world.n_days])
    drec, drow = run_kernel_design(world, design, points, reps)
    assert rec.shape == drec.shape and rec.shape[0] > 0
    assert (rec == drec).all() and (row == drow).all()


def test_take_copies_ancestors_and_children_diverge_only_with_fresh_keys():
    world = compile_world(build())
    design = Design.repeat(world, 1)
    points, reps = grid(1, 4)
    st = States.initial(world, design, points, replicate_keys(world.seed, reps))
    run_segment(world, design, st, 100)
    anc = np.array([2, 2, 2, 0])
    same = st.take(anc, st.keys[anc])
    assert np.array_equal(same.fs[0], st.fs[2]) and same.day == 100
    same.fs[0, 0, 0] += 1.0  # a copy, not a view
    assert st.fs[2, 0, 0] != same.fs[0, 0, 0]
    same = st.take(anc, st.keys[anc])
    fresh = st.take(anc, replicate_keys(world.seed + 1, np.arange(4)))
    r_same, i_same = run_segment(world, design, same, world.n_days)
    r_fresh, i_fresh = run_segment(world, design, fresh, world.n_days)
    # copies of one parent with the parent's key write the same records ...
    assert np.array_equal(r_same[i_same == 0], r_same[i_same == 1])
    # ... with fresh keys they do not
    assert not np.array_equal(r_fresh[i_fresh == 0], r_fresh[i_fresh == 1])


def test_segment_rejects_a_day_beyond_the_horizon():
    import pytest

    world = compile_world(build())
    design = Design.repeat(world, 1)
    st = States.initial(world, design, np.zeros(1, np.int64), replicate_keys(1, np.zeros(1)))
    with pytest.raises(ValueError, match="segment"):
        run_segment(world, design, st, world.n_days + 1)
