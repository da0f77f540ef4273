"""Scenario layer: the parameter catalogue (schema), the YAML loader and its errors."""

from sim.scenario.errors import ScenarioError
from sim.scenario.loader import load_scenario, parse_scenario
from sim.scenario.schema import LoadedScenario, Scenario

__all__ = ["LoadedScenario", "Scenario", "ScenarioError", "load_scenario", "parse_scenario"]
