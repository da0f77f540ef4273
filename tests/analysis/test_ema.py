"""The EMA Workbench adapter runs escsim end to end on a tiny design."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.design import DesignScenario, evaluate_design
from sim.analysis.ema import RESERVED, build_model, model_parameters
from sim.results.outcomes import METRICS
from tests.conftest import build

R = 4
OUTCOMES = ("attacks_us", "us_strikes", "escalation_spiral")


@pytest.fixture(scope="module")
def scenario():
    """A small scenario with a policy (its strike rate is a lever)."""
    return build({"policy": {"start": "2020-06-01", "us": {"strike_rate": 0.2}}})


def test_parameters_cover_the_catalogue(scenario):
    ds = DesignScenario.of(scenario)
    unc, levers = model_parameters(ds)
    assert {p.path for p in levers} == {
        "policy.us.doctrine",
        "policy.iran.unified",
        "policy.us.strike_rate",
    }
    assert len(unc) + len(levers) == len(ds.catalogue)
    names = [p.ident for p in unc + levers]
    assert all(n.isidentifier() and n not in RESERVED for n in names)


def test_perform_experiments_runs_escsim(scenario):
    from ema_workbench import SequentialEvaluator, perform_experiments

    model = build_model(scenario, replicates=R, outcomes=OUTCOMES)
    experiments, outcomes = perform_experiments(
        model, scenarios=3, policies=2, evaluator=SequentialEvaluator(model)
    )
    assert len(experiments) == 6
    assert set(outcomes) == set(OUTCOMES)
    for o in OUTCOMES:
        assert outcomes[o].shape == (6,) and np.isfinite(outcomes[o]).all()
    assert outcomes["attacks_us"].std() > 0  # the parameters reach the kernel

    # CRN: each experiment equals the design evaluator's replicate mean at the same values
    ds = DesignScenario.of(scenario)
    unc, levers = model_parameters(ds)
    params = unc + levers
    row = experiments.iloc[4]
    x = [
        float(p.categories.index(row[p.ident])) if p.kind == "categorical" else row[p.ident]
        for p in params
    ]
    direct = evaluate_design([ds], params, np.array([x]), R)[0, 0]
    for o in OUTCOMES:
        assert outcomes[o][4] == pytest.approx(direct[:, METRICS.index(o)].mean())


def test_unknown_outcome_is_refused(scenario):
    with pytest.raises(ValueError, match="unknown outcomes"):
        build_model(scenario, outcomes=("attacks",))
