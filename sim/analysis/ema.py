"""EMA Workbench adapter: an ``ema_workbench.Model`` that runs escsim on one scenario.

Uncertainties are the scenario's global parameters (``design.parameter_catalogue``: every G
entry, over the ranges and rules documented there) that are not levers; levers are the
parameters the schema declares "(policy lever)" (``us.doctrine``, ``iran.unified``) and the
values the scenario's policy sets, both applying after the policy date (``policy.`` paths in
``sim.analysis.design``; a policy value ranges over its baseline and policy values:
``design.policy_levers``). Real parameters become ``RealParameter``, choices
``CategoricalParameter``. Outcomes are ``ScalarOutcome`` s, one per metric of
``sim.results.outcomes.METRICS``: the mean over R replicates (NaN-ignoring for metrics that can
be undefined, such as ``days_to_deescalation``).

Replications use common random numbers: every experiment runs replicates 0 .. R-1 of the
scenario's seed (or ``seed``), so two experiments differ only by their parameters, and the
same experiment run twice gives the same outcomes. Names are identifiers (``us__strike_rate``,
``policy__us__strike_rate``); EMA Workbench 3.0 reserves ``policy``, ``scenario`` and ``model``
as column names, which no name here equals.

Example::

    from ema_workbench import SequentialEvaluator, perform_experiments
    model = build_model(load_scenario("scenarios/strong_us_retaliation.yaml").scenario)
    experiments, outcomes = perform_experiments(
        model, scenarios=8, policies=2, evaluator=SequentialEvaluator(model)
    )
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sim.analysis.design import DesignScenario, Parameter, evaluate_design, policy_levers
from sim.results.outcomes import METRICS
from sim.scenario import Scenario

RESERVED = ("policy", "scenario", "model")


def model_parameters(ds: DesignScenario) -> tuple[list[Parameter], list[Parameter]]:
    """Return (uncertainties, levers) of a compiled scenario."""
    levers = policy_levers(ds.scenario, declared=True)
    lever_paths = {p.path.removeprefix("policy.") for p in levers}
    unc = [p for p in ds.catalogue if p.path not in lever_paths]
    return unc, levers


def _ema_parameter(p: Parameter):
    from ema_workbench import CategoricalParameter, RealParameter

    if p.kind == "categorical":
        return CategoricalParameter(
            p.ident, list(p.categories), default=p.categories[int(p.default)]
        )
    return RealParameter(p.ident, p.lo, p.hi, default=min(max(p.default, p.lo), p.hi))


def build_model(
    sc: Scenario,
    replicates: int = 10,
    outcomes: Sequence[str] = METRICS,
    seed: int | None = None,
    name: str | None = None,
):
    """Return an ``ema_workbench.Model`` whose function runs escsim on ``sc``.

    Parameters
    ----------
    sc : Scenario
        A validated scenario.
    replicates : int
        Replicates per experiment (common random numbers: indices 0 .. R-1 of one seed).
    outcomes : sequence of str
        Metrics reported (as replicate means).
    seed : int, optional
        Seed of the replicates (default: the scenario's).
    name : str, optional
        The model's name (default: ``escsim_`` + the scenario's name as an identifier).

    Returns
    -------
    ema_workbench.Model
    """
    from ema_workbench import Model, ScalarOutcome

    unknown = [o for o in outcomes if o not in METRICS]
    if unknown:
        raise ValueError(f"unknown outcomes {unknown}; expected names from {METRICS}")
    ds = DesignScenario.of(sc, seed)
    unc, levers = model_parameters(ds)
    params = unc + levers
    columns = [METRICS.index(o) for o in outcomes]

    def run(**values: object) -> dict[str, float]:
        x = []
        for p in params:
            v = values.get(p.ident, p.categories[int(p.default)] if p.categories else p.default)
            x.append(float(p.categories.index(v)) if p.kind == "categorical" else float(v))
        res = evaluate_design([ds], params, np.array([x]), replicates)[0, 0]
        out = {}
        for o, j in zip(outcomes, columns, strict=True):
            col = res[:, j]
            out[o] = float(np.nanmean(col)) if np.isfinite(col).any() else float("nan")
        return out

    ident = name or "escsim_" + re.sub(r"\W", "_", sc.name)
    clash = [p.ident for p in params if p.ident in RESERVED] + [
        o for o in outcomes if o in RESERVED
    ]
    if clash:
        raise ValueError(f"names reserved by EMA Workbench: {clash}")
    model = Model(ident, function=run)
    model.uncertainties = [_ema_parameter(p) for p in unc]
    model.levers = [_ema_parameter(p) for p in levers]
    model.outcomes = [ScalarOutcome(o) for o in outcomes]
    return model
