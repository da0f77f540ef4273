"""The Mesa engine works with Mesa's own tools: DataCollector, batch_run, agents as views."""

import copy

import mesa
import numpy as np
import pytest
import yaml

from sim import vocab as V
from sim.engines.kernel import run_kernel
from sim.engines.mesa.agents import Militia
from sim.engines.mesa.model import EscalationModel, run_mesa
from sim.model import layout as L
from sim.model.world import compile_world
from sim.scenario import load_scenario
from tests.conftest import SMALL

REPORTERS = {
    "attacks_us",
    "attacks_state",
    "us_strikes",
    "arrests",
    "truce_active",
    "directives_escalate",
}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    """SMALL (one year) with a US doctrine that strikes, as a scenario file."""
    doc = copy.deepcopy(SMALL)
    doc["us"] = {"doctrine": "proportional", "strike_rate": 0.5}
    path = tmp_path_factory.mktemp("sc") / "small.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def count(records, kind, targets=None):
    hit = records[:, L.E_KIND] == kind
    if targets is not None:
        hit &= np.isin(records[:, L.E_TARGET], targets)
    return int(hit.sum())


def test_datacollector_counts_equal_the_event_log(scenario_file):
    model = EscalationModel(scenario_file, rep=3)
    records = model.run()
    df = model.datacollector.get_model_vars_dataframe()
    assert set(df.columns) == REPORTERS
    assert len(df) == model.world.n_days + 1  # the state before day 0, then one row a day
    state = (V.T_STATE, V.T_PM, V.T_ACTIVIST)
    assert df["attacks_us"].sum() == count(records, V.K_ATTACK, V.US_TARGETS) > 0
    assert df["attacks_state"].sum() == count(records, V.K_ATTACK, state)
    assert df["us_strikes"].sum() == count(records, V.K_US_STRIKE)
    assert df["arrests"].sum() == count(records, V.K_ARREST)
    assert set(df["truce_active"]) <= {0, 1}
    assert df["directives_escalate"].between(0, V.N_AGENCIES).all()
    # day by day, not only in total: row d + 1 holds day d
    days = records[:, L.E_DAY]
    for d in np.unique(days[records[:, L.E_KIND] == V.K_ATTACK]):
        today = records[days == d]
        assert df["attacks_us"].iloc[d + 1] == count(today, V.K_ATTACK, V.US_TARGETS)


def test_agent_reporter_grievance_is_the_militias_total_and_none_for_others(scenario_file):
    model = EscalationModel(scenario_file, rep=0)
    for _ in range(40):  # past the decapitation of 1 Feb, which raises every grievance
        model.step()
    agents = model.datacollector.get_agent_vars_dataframe()
    last = agents.xs(model.steps, level="Step")["grievance"]
    for agent in model.agents:
        value = last.loc[agent.unique_id]
        if isinstance(agent, Militia):
            assert value == agent.grievance_us + agent.grievance_state > 0
        else:
            assert value is None or np.isnan(value)


def test_the_model_stops_at_the_horizon_and_equals_run_mesa_and_the_kernel(scenario_file):
    world = compile_world(load_scenario(scenario_file).scenario)
    model = EscalationModel(str(scenario_file), rep=2)
    steps = 0
    while model.running:
        model.step()
        steps += 1
    assert steps == world.n_days
    assert (model.events == run_mesa(world, 2, 1)[0]).all()
    assert (model.events == run_kernel(world, 2, 1)[0]).all()


def test_batch_run_returns_a_row_per_step_and_agent(scenario_file):
    world = compile_world(load_scenario(scenario_file).scenario)
    rows = mesa.batch_run(
        EscalationModel,
        parameters={"world": str(scenario_file), "rep": [0, 1]},
        data_collection_period=1,
        number_processes=1,
        display_progress=False,
    )
    assert {r["rep"] for r in rows} == {0, 1}
    for rep in (0, 1):
        mine = [r for r in rows if r["rep"] == rep]
        steps = sorted({r["Step"] for r in mine})
        assert steps == list(range(world.n_days + 1))
        assert len(mine) == len(steps) * (world.n_factions + V.N_AGENCIES + 2)  # one per agent
        per_step = {r["Step"]: r["attacks_us"] for r in mine}
        records = run_mesa(world, rep, 1)[0]
        assert sum(per_step.values()) == count(records, V.K_ATTACK, V.US_TARGETS)
        assert REPORTERS | {"grievance"} <= set(mine[0])
