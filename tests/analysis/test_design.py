"""Design evaluation: the parameter catalogue, how a point enters a World, and CRN."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.analysis.design import (
    RULE_AROUND,
    RULE_SCHEMA,
    DesignScenario,
    apply_point,
    evaluate_design,
    paired_difference,
    parameter_catalogue,
    unit_to_values,
)
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.results.outcomes import METRICS, replicate_metrics
from tests.conftest import build

POLICY = {"start": "2020-06-01", "us": {"strike_rate": 0.2}, "militia": {"beta_directive": 2.0}}


@pytest.fixture(scope="module")
def ds():
    """A small scenario with a policy setting two values."""
    return DesignScenario.of(build({"policy": POLICY}))


def test_catalogue_has_every_global_parameter(ds):
    cat = ds.catalogue
    assert [p.g_name for p in cat] == list(L.G_NAMES)
    by = {p.path: p for p in cat}
    assert by["pm.legitimacy"].g_name == "pm_legitimacy0"
    assert by["militia.lethality.ied"].g_name == "m_lethality_ied"
    assert by["us.doctrine"].kind == "categorical" and by["us.doctrine"].lever
    assert by["iran.unified"].lever and not by["us.strike_rate"].lever
    # a probability keeps its schema bounds; a duration gets default x [1/2, 2]
    assert (by["us.attribution"].lo, by["us.attribution"].hi, by["us.attribution"].rule) == (
        0.0,
        1.0,
        RULE_SCHEMA,
    )
    cd = by["us.cooldown_days"]
    assert (cd.lo, cd.hi, cd.rule) == (cd.default / 2, cd.default * 2, RULE_AROUND)
    for p in cat:
        assert p.lo <= p.default <= p.hi or p.kind == "categorical", p


def test_defaults_reproduce_the_compiled_world(ds):
    w = apply_point(ds, ds.catalogue, [p.default for p in ds.catalogue])
    np.testing.assert_array_equal(w.g_before, ds.world.g_before)
    np.testing.assert_array_equal(w.g_after, ds.world.g_after)


def test_policy_values_stay_after_the_policy_date(ds):
    by = {p.path: p for p in ds.catalogue}
    i_rate, i_att = L.G_INDEX["us_strike_rate"], L.G_INDEX["us_attribution"]
    w = apply_point(ds, [by["us.strike_rate"], by["us.attribution"]], [0.05, 0.9])
    assert w.g_before[i_rate] == 0.05 and w.g_after[i_rate] == 0.2  # the policy's lever
    assert w.g_before[i_att] == 0.9 and w.g_after[i_att] == 0.9  # an uncertainty
    lever = by["us.strike_rate"].as_lever()
    w = apply_point(ds, [lever], [0.7])
    assert w.g_before[i_rate] == ds.world.g_before[i_rate] and w.g_after[i_rate] == 0.7
    assert ds.world.g_after[i_rate] == 0.2  # the compiled world is not changed


def test_design_runs_are_the_kernel_runs_on_crn(ds):
    by = {p.path: p for p in ds.catalogue}
    params = [by["militia.beta_grievance"]]
    res = evaluate_design([ds], params, np.array([[0.15], [0.6], [0.15]]), 6)
    assert res.shape == (1, 3, 6, len(METRICS))
    np.testing.assert_array_equal(res[0, 0], res[0, 2])  # same point, same replicates
    w = ds.world
    rec, reps = run_kernel(w, 0, 6)
    direct = replicate_metrics(rec, reps, 0, 6, w.n_days, w.outcome_day, w.n_factions)
    np.testing.assert_array_equal(res[0, 0], direct)  # the default point is the scenario
    assert not np.array_equal(res[0, 0], res[0, 1])  # the parameter reaches the kernel


def test_paired_difference_and_seed_check(ds):
    other = DesignScenario.of(build({"policy": {**POLICY, "us": {"strike_rate": 2.0}}}))
    res = evaluate_design([ds, other], [], np.zeros((2, 0)), 5)
    d = paired_difference(res, "us_strikes")
    j = METRICS.index("us_strikes")
    assert d == pytest.approx((res[1, :, :, j] - res[0, :, :, j]).mean(axis=1))
    with pytest.raises(ValueError, match="share one seed"):
        evaluate_design(
            [ds, dataclasses.replace(other, world=dataclasses.replace(other.world, seed=1))],
            [],
            np.zeros((1, 0)),
            2,
        )


def test_unit_to_values_maps_ranges_and_categories():
    cat = parameter_catalogue(build())
    by = {p.path: p for p in cat}
    params = [by["us.cooldown_days"], by["us.doctrine"]]
    v = unit_to_values(params, np.array([[0.0, 0.0], [1.0, 0.999], [0.5, 0.5]]))
    assert v[:, 0] == pytest.approx([params[0].lo, params[0].hi, (params[0].lo + params[0].hi) / 2])
    assert list(v[:, 1]) == [0, 3, 2]


def test_policy_levers_span_baseline_and_policy_values(ds):
    from sim.analysis.design import RULE_LEVER, policy_levers

    levers = {p.path: p for p in policy_levers(ds.scenario)}
    assert set(levers) == {"policy.us.strike_rate", "policy.militia.beta_directive"}
    rate = levers["policy.us.strike_rate"]
    base = {p.path: p for p in ds.catalogue}["us.strike_rate"].default
    assert rate.default == 0.2 and rate.rule == RULE_LEVER
    assert rate.lo == pytest.approx(min(base, 0.2) / 2) and rate.hi == pytest.approx(0.4)
    declared = {p.path for p in policy_levers(ds.scenario, declared=True)}
    assert {"policy.us.doctrine", "policy.iran.unified"} <= declared
