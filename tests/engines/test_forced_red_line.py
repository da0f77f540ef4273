"""A forced attack crosses Iran's red lines as a simulated one does (R2: Tower 22, 28 Jan 2024):
with restraint on, the militias attack less after a forced attack on the PM than without
restraint, and identically before it; without the forced attack restraint changes nothing
(paired runs, same seed)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.model.world import compile_world
from tests.conftest import SMALL, build

DAY = (np.datetime64("2020-11-07") - np.datetime64("2020-01-01")).astype(int)


def _scenario(forced: bool = True):
    """SMALL with no simulated attack on the PM, no US-deaths red line, and one forced attack
    on the PM on 7 Nov 2020: the forced attack is the only way to cross a red line."""
    doc = copy.deepcopy(SMALL)
    for f in doc["factions"]:
        f.setdefault("targets", {})["pm"] = 0.0
    inject = {"date": "2020-11-07", "kind": "attack", "faction": "A", "weapon": "drone"}
    inject["target"] = "pm"
    return build(
        {
            "factions": doc["factions"],
            "iran": {"restraint_us_deaths": 0.0},
            "militia": {"beta_directive": 5.0},  # directives matter, so restraint shows
            "injects": [*doc["injects"], *([inject] if forced else [])],
        }
    )


def _attacks(restraint: float, forced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    world = compile_world(_scenario(forced))
    gb, ga = world.g_before.copy(), world.g_after.copy()
    for path, v in {"iran.restraint": restraint, "iran.restraint_tau": 365.0}.items():
        gb[L.parameter_path_index(path)] = ga[L.parameter_path_index(path)] = v
    rec, _ = run_kernel(dataclasses.replace(world, g_before=gb, g_after=ga), 0, 20)
    att = rec[(rec[:, L.E_KIND] == V.K_ATTACK) & (rec[:, L.E_FORCED] == 0)]
    return att[att[:, L.E_DAY] < DAY], att[att[:, L.E_DAY] > DAY]


def test_forced_attack_on_the_pm_triggers_iranian_restraint():
    before0, after0 = _attacks(0.0)
    before1, after1 = _attacks(10.0)
    assert np.array_equal(before0, before1)  # nothing differs before the forced attack
    assert len(after1) < len(after0), (len(after1), len(after0))  # restraint: fewer attacks
    # without the forced attack no red line is crossed: restraint changes nothing at all
    plain0, plain1 = _attacks(0.0, forced=False), _attacks(10.0, forced=False)
    assert all(np.array_equal(a, b) for a, b in zip(plain0, plain1, strict=True))
