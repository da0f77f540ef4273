"""The kernel equals the Mesa engine row for row, and is deterministic whatever the chunking."""

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.engines.mesa.model import run_mesa
from sim.model import layout as L
from sim.model.world import compile_world
from sim.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS, build

SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def assert_same(a, b):
    (ra, ia), (rb, ib) = a, b
    assert ra.shape == rb.shape, f"{ra.shape} != {rb.shape}"
    if ra.size:
        diff = np.nonzero((ra != rb).any(axis=1))[0]
        assert diff.size == 0, f"first difference at row {diff[:1]}: {ra[diff[0]]} vs {rb[diff[0]]}"
    assert (ia == ib).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**62),
    doctrine=st.sampled_from(["none", "proportional", "infrastructure", "leadership"]),
    unified=st.booleans(),
    policy_day=st.integers(0, 364),
    crackdown=st.floats(0.0, 1.0),
)
def test_identity_over_seeds_and_levers(seed, doctrine, unified, policy_day, crackdown):
    import datetime as dt

    start = dt.date(2020, 1, 1) + dt.timedelta(days=policy_day)
    sc = build(
        {
            "seed": seed,
            "us": {"doctrine": doctrine, "strike_rate": 0.2, "red_line": 1},
            "policy": {
                "start": start.isoformat(),
                "us": {"doctrine": "leadership"},
                "iran": {"unified": unified},
                "pm": {"crackdown": crackdown},
            },
        }
    )
    world = compile_world(sc)
    mesa = run_mesa(world, 0, 2)
    kernel = run_kernel(world, 0, 2)
    assert_same(mesa, kernel)
    kinds = set(np.unique(kernel[0][:, L.E_KIND]))
    assert V.K_ATTACK in kinds and V.K_TRUCE_START in kinds


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_identity_on_every_scenario_file(path):
    world = compile_world(load_scenario(path).scenario)
    mesa = run_mesa(world, 7, 2)
    kernel = run_kernel(world, 7, 2)
    assert_same(mesa, kernel)


def test_historical_identity_covers_every_mechanism(historical):
    world = compile_world(historical.scenario)
    mesa = run_mesa(world, 0, 4)
    kernel = run_kernel(world, 0, 4)
    assert_same(mesa, kernel)
    kinds = {V.KINDS[k] for k in np.unique(kernel[0][:, L.E_KIND])}
    for needed in (
        "attack",
        "attribution",
        "us_strike",
        "arrest",
        "release",
        "truce_start",
        "truce_end",
        "directive",
        "decapitation",
        "election",
        "threat",
    ):
        assert needed in kinds, needed
    details = set(np.unique(kernel[0][:, L.E_DETAIL]))
    assert V.D_COMPLY in details and V.D_ESCALATE in details and V.D_CALM in details
    assert (kernel[0][:, L.E_CLAIMED] >= 0).any()  # front claims
    assert (kernel[0][:, L.E_FORCED] == 0).any() and (kernel[0][:, L.E_FORCED] == 1).any()


def test_chunking_does_not_change_replicates(historical):
    world = compile_world(historical.scenario)
    whole = run_kernel(world, 0, 60)
    parts = [run_kernel(world, 0, 7), run_kernel(world, 7, 33), run_kernel(world, 40, 20)]
    joined = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    assert_same(whole, joined)


def test_small_event_capacity_is_retried_to_the_same_result(historical):
    world = compile_world(historical.scenario)
    assert_same(run_kernel(world, 3, 5), run_kernel(world, 3, 5, cap=8))


def test_thread_count_does_not_change_results(historical):
    world = compile_world(historical.scenario)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_kernel(world, 0, 40)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = run_kernel(world, 0, 40)
    finally:
        numba.set_num_threads(before)
    assert_same(one, many)


def _digest_in_subprocess(threads: int) -> str:
    code = (
        "import hashlib, sys\n"
        "from sim.scenario import load_scenario\n"
        "from sim.model.world import compile_world\n"
        "from sim.engines.kernel import run_kernel\n"
        "w = compile_world(load_scenario(sys.argv[1]).scenario)\n"
        "r, i = run_kernel(w, 0, 30)\n"
        "print(hashlib.sha256(r.tobytes() + i.tobytes()).hexdigest())\n"
    )
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    res = subprocess.run(
        [sys.executable, "-c", code, str(SCENARIOS / "historical.yaml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return res.stdout.strip()


def test_numba_num_threads_environment_does_not_change_results():
    assert _digest_in_subprocess(1) == _digest_in_subprocess(2)


def test_every_scenario_file_is_tested():
    assert len(SCENARIO_FILES) >= 1
    assert all(p.suffix == ".yaml" for p in SCENARIO_FILES)
    assert Path(SCENARIOS / "historical.yaml") in SCENARIO_FILES
