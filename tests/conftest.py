"""Shared fixtures: the repository's scenarios and a builder of small scenarios."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.scenario import Scenario, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

SMALL: dict[str, Any] = {
    "name": "small",
    "start": "2020-01-01",
    "end": "2020-12-31",
    "seed": 11,
    "factions": [
        {
            "name": "A",
            "base_rate": 0.08,
            "fronts": ["Front A"],
            "front_share": 0.4,
            "drones_from": "2020-03-01",
            "targets": {
                "us_base": 1.0,
                "us_embassy": 0.5,
                "convoy": 0.5,
                "iraqi_state": 0.3,
                "pm": 0.05,
                "activist": 0.2,
            },
        },
        {"name": "B", "base_rate": 0.05, "discipline": 0.3, "truce_compliance": 0.4},
    ],
    "iran": {
        "agencies": [
            {"name": "MOIS", "hawkishness": -1.0, "control": {"B": 0.5}},
            {"name": "IRGC-QF", "hawkishness": 0.5, "control": {"A": 0.8, "B": 0.3}},
        ]
    },
    "pm": {"crackdown": 0.5, "mediation": 0.05},
    "injects": [
        {"date": "2020-02-01", "kind": "decapitation"},
        {"date": "2020-03-01", "kind": "us_strike", "faction": "A", "killed": 3},
        {"date": "2020-05-01", "kind": "threat", "days": 20},
        {"date": "2020-06-01", "kind": "truce", "days": 30},
        {"date": "2020-07-15", "kind": "arrest", "faction": "B"},
        {"date": "2020-09-01", "kind": "election"},
        {"date": "2020-10-01", "kind": "negotiation"},
        {"date": "2020-11-01", "kind": "new_pm", "crackdown": 0.8},
    ],
}


def build(overrides: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> Scenario:
    """Return a validated scenario from SMALL (or ``base``) deep-updated with ``overrides``."""
    doc = copy.deepcopy(base or SMALL)
    for key, value in (overrides or {}).items():
        doc[key] = value
    return parse_scenario(yaml.safe_dump(doc, sort_keys=False), "test.yaml")


@pytest.fixture(scope="session")
def historical():
    """The historical scenario, loaded from the repository."""
    return load_scenario(SCENARIOS / "historical.yaml")
