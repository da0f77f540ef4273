"""Scenario discovery: PRIM recovers a known box; `escsim discover` runs end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sim.analysis.discovery import TRAJECTORY_COLUMNS, DiscoveryError, find_box
from sim.cli import app
from tests.conftest import SMALL

# Known box: x0 > 0.6 and x1 < 0.3 (mass 0.12) among five uniform inputs, 2,000 points. PRIM peels
# 5% per step, so its edges land within a few peels of the truth: 0.05 on a unit range.
EDGE_TOLERANCE = 0.05


def test_prim_recovers_a_known_box():
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.random((2000, 5)), columns=[f"x{i}" for i in range(5)])
    y = ((x["x0"] > 0.6) & (x["x1"] < 0.3)).to_numpy()
    res = find_box(x, y)
    assert tuple(res.trajectory.columns) == TRAJECTORY_COLUMNS
    box = res.box.set_index("parameter")
    assert set(box.index) == {"x0", "x1"}
    assert box.loc["x0", "low"] == pytest.approx(0.6, abs=EDGE_TOLERANCE)
    assert box.loc["x1", "high"] == pytest.approx(0.3, abs=EDGE_TOLERANCE)
    chosen = res.trajectory.iloc[res.chosen]
    assert chosen["density"] > 0.9 and chosen["coverage"] >= 0.5


def test_prim_needs_cases():
    x = pd.DataFrame({"a": np.linspace(0, 1, 20)})
    with pytest.raises(DiscoveryError, match="no design point"):
        find_box(x, np.zeros(20, dtype=bool))


def _scenarios(tmp_path):
    a = {**SMALL, "name": "calm", "policy": {"start": "2020-06-01"}}
    b = {
        **SMALL,
        "name": "hit",
        "policy": {"start": "2020-06-01", "us": {"strike_rate": 0.5, "cooldown_days": 7}},
    }
    pa, pb = tmp_path / "a.yaml", tmp_path / "b.yaml"
    pa.write_text(yaml.safe_dump(a, sort_keys=False))
    pb.write_text(yaml.safe_dump(b, sort_keys=False))
    return str(pa), str(pb)


def test_discover_end_to_end(tmp_path):
    a, b = _scenarios(tmp_path)
    out = tmp_path / "disc"
    args = ["discover", a, b, "--outcome", "us_strikes", "--case", "higher"]
    r = CliRunner().invoke(app, [*args, "--n", "40", "-r", "4", "-o", str(out)])
    assert r.exit_code == 0, r.output
    design = pd.read_csv(out / "design.csv")
    assert len(design) == 40
    # the levers of B's policy are sampled (as policy__ columns) with the uncertainties
    assert {"policy__us__strike_rate", "policy__us__cooldown_days"} <= set(design.columns)
    assert design["case"].sum() > 0
    traj = pd.read_csv(out / "trajectory.csv")
    assert tuple(traj.columns) == TRAJECTORY_COLUMNS and len(traj) >= 1
    assert (out / "box.csv").exists() and (out / "discovery.png").exists()
    man = json.loads((out / "manifest.json").read_text())
    assert man["design_points"] == 40 and man["replicates"] == 4
    assert man["cases_of_interest"] == int(design["case"].sum())


def test_discover_bad_outcome_is_exit_2(tmp_path):
    a, b = _scenarios(tmp_path)
    out = tmp_path / "bad"
    r = CliRunner().invoke(app, ["discover", a, b, "--outcome", "nope", "-o", str(out)])
    assert r.exit_code == 2
    assert "--outcome 'nope'" in r.output and "Traceback" not in r.output
    assert not out.exists()
