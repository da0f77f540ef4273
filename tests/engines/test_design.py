"""A design of parameter points x replicates: one call, common random numbers, both engines."""

import numpy as np
import pytest

from sim import vocab as V
from sim.engines.design import Design, grid
from sim.engines.kernel import run_kernel, run_kernel_design
from sim.engines.mesa.model import run_mesa_design
from sim.model import layout as L
from sim.model.world import compile_world
from tests.conftest import build


@pytest.fixture(scope="module")
def world():
    return compile_world(build({"us": {"doctrine": "proportional", "strike_rate": 0.3}}))


@pytest.fixture(scope="module")
def design(world):
    d = Design.repeat(world, 3)
    d.fp[1, 0, L.F_BASE_RATE] *= 4.0  # point 1: faction A attacks far more often
    d.g_before[2, L.G_US_STRIKE_RATE] = 0.0  # point 2: the US never retaliates at will
    d.g_after[2, L.G_US_STRIKE_RATE] = 0.0
    return d


def rows_of(result, row):
    records, rows = result
    return records[rows == row]


def test_each_point_equals_a_run_of_its_own_world(world, design):
    points, reps = grid(design.n_points, 3, rep_start=5)
    result = run_kernel_design(world, design, points, reps)
    for r, (p, rep) in enumerate(zip(points, reps, strict=True)):
        alone, _ = run_kernel(design.world_at(world, p), int(rep), 1)
        assert (rows_of(result, r) == alone).all()
    # the points really differ: more attacks at point 1, no discretionary strikes at point 2
    records, rows = result
    attacks = [(records[points[rows] == p][:, L.E_KIND] == V.K_ATTACK).sum() for p in range(3)]
    assert attacks[1] > attacks[0]
    strikes = records[(points[rows] == 2) & (records[:, L.E_KIND] == V.K_US_STRIKE)]
    assert (strikes[:, L.E_FORCED] == 1).all()


def test_identical_points_give_identical_replicates(world):
    points, reps = grid(4, 3)
    records, rows = run_kernel_design(world, Design.repeat(world, 4), points, reps)
    fixed, fixed_reps = run_kernel(world, 0, 3)
    for p in range(4):
        mine = np.isin(rows, np.nonzero(points == p)[0])
        assert (records[mine] == fixed).all()
        assert (reps[rows[mine]] == fixed_reps).all()


def test_explicit_rows_in_any_order(world, design):
    points = np.array([2, 0, 1, 0])
    reps = np.array([7, 7, 1, 0])
    result = run_kernel_design(world, design, points, reps)
    for r in range(4):
        alone, _ = run_kernel(design.world_at(world, points[r]), reps[r], 1)
        assert (rows_of(result, r) == alone).all()


def test_mesa_runs_the_same_design_identically(world, design):
    points, reps = grid(design.n_points, 2, rep_start=1)
    kernel = run_kernel_design(world, design, points, reps)
    mesa = run_mesa_design(world, design, points, reps)
    assert kernel[0].shape == mesa[0].shape
    assert (kernel[0] == mesa[0]).all() and (kernel[1] == mesa[1]).all()


def test_a_design_that_does_not_fit_is_refused(world, design):
    points, reps = grid(design.n_points, 1)
    with pytest.raises(ValueError, match="points: expected indices in 0..2; found 1..3"):
        run_kernel_design(world, design, points + 1, reps)
    bad = Design(design.g_before[:, :-1], design.g_after, design.fp, design.ap)
    with pytest.raises(ValueError, match="design.g_before: expected shape"):
        run_kernel_design(world, bad, points, reps)
