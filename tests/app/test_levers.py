"""Policy levers: read from a scenario, written back as a scenario file the loader checks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.app.levers import (
    LeverError,
    add_scenario_text,
    apply_levers,
    changed_levers,
    lever_values,
)
from sim.model import layout as L
from sim.model.world import compile_world
from sim.replay import rebuild_scenario
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def status_quo():
    return load_scenario(SCENARIOS / "status_quo.yaml")


@pytest.fixture(scope="module")
def truce():
    return load_scenario(SCENARIOS / "truce.yaml")


def test_lever_values_are_the_scenarios_own(status_quo, truce):
    sq = lever_values(status_quo)
    assert sq["us.doctrine"] == "proportional"
    assert sq["us.strike_rate"] == status_quo.scenario.us.strike_rate
    assert sq["pm.crackdown"] == 0.5  # the new PM of 2020-05-07 (historical.yaml), not 0.0
    assert sq["truce"] is False and sq["truce_start"] == dt.date(2020, 6, 1)
    tr = lever_values(truce)
    assert tr["truce"] is True and tr["truce_start"] == dt.date(2020, 6, 1)
    strong = lever_values(load_scenario(SCENARIOS / "strong_us_retaliation.yaml"))
    assert strong["us.doctrine"] == "leadership" and strong["us.strike_rate"] == 0.3


def test_unmoved_levers_return_the_file_itself(status_quo, tmp_path):
    own = lever_values(status_quo)
    as_text = {k: str(v) if isinstance(v, float) else v for k, v in own.items()}
    assert changed_levers(status_quo, as_text) == {}
    assert apply_levers(status_quo, as_text, tmp_path) is status_quo
    assert not any(tmp_path.iterdir())


def test_a_moved_lever_changes_only_the_policy(status_quo, tmp_path):
    before = {p.name: p.read_text() for p in SCENARIOS.glob("*")}
    edited = apply_levers(
        status_quo, {"us.strike_rate": "0.3", "us.doctrine": "leadership"}, tmp_path
    )
    assert {p.name: p.read_text() for p in SCENARIOS.glob("*")} == before  # user files untouched
    sc = edited.scenario
    assert sc.name == "status_quo_edited"
    assert sc.policy.us == {"strike_rate": 0.3, "doctrine": "leadership"}
    assert sc.policy.drop_injects == status_quo.scenario.policy.drop_injects
    assert "US strike rate 0.01 -> 0.3" in sc.description
    a, b = compile_world(status_quo.scenario), compile_world(sc)
    # common random numbers: history before the policy start is the same world
    assert np.array_equal(a.g_before, b.g_before) and a.switch_day == b.switch_day
    assert b.g_after[L.G_US_STRIKE_RATE] == 0.3
    assert b.g_after[L.G_US_DOCTRINE] == 3  # leadership
    assert a.g_after[L.G_US_STRIKE_RATE] != 0.3


def test_truce_lever_adds_and_removes_the_policy_truce(status_quo, truce, tmp_path):
    on = apply_levers(status_quo, {"truce": True, "truce_start": "2020-09-01"}, tmp_path)
    (inj,) = [i for i in on.scenario.policy.injects if i.kind == "truce"]
    assert inj.date == dt.date(2020, 9, 1)
    assert inj.days == (dt.date(2021, 12, 31) - dt.date(2020, 9, 1)).days + 1
    off = apply_levers(truce, {"truce": False}, tmp_path)
    assert not [i for i in off.scenario.policy.injects if i.kind == "truce"]
    assert off.scenario.policy.iran == truce.scenario.policy.iran  # the rest of the policy stays
    # the date of a truce that stays off changes nothing
    assert apply_levers(status_quo, {"truce_start": "2020-09-01"}, tmp_path) is status_quo


def test_the_edited_scenario_rebuilds_from_its_files_with_the_same_hash(status_quo, tmp_path):
    edited = apply_levers(status_quo, {"us.red_line": "3"}, tmp_path / "ws")
    manifest = {
        "scenario": {
            "files": [{"path": p, "text": t} for p, t in edited.files],
            "sha256": edited.sha256,
        }
    }
    again = rebuild_scenario(manifest, tmp_path / "replay")  # what `escsim replay` does
    assert again.sha256 == edited.sha256
    assert again.scenario == edited.scenario


@pytest.mark.parametrize(
    "values, message",
    [
        ({"us.strike_rate": "-1"}, "US strike rate: expected a value greater than or equal to 0"),
        ({"us.strike_rate": "lots"}, "US strike rate: expected a number; found 'lots'"),
        ({"us.posture": "1.5"}, "US posture: expected a value less than or equal to 1"),
        ({"pm.crackdown": "nan"}, "PM crackdown: expected a finite number"),
        ({"us.doctrine": "nuclear"}, "US doctrine: expected one of none, proportional"),
        ({"truce": True, "truce_start": "2020-13-01"}, "Truce from: expected a date written"),
        ({"truce": True, "truce_start": "2019-12-01"}, "Truce from: expected a date within"),
    ],
)
def test_bad_lever_values_name_the_lever(status_quo, tmp_path, values, message):
    with pytest.raises(LeverError) as err:
        apply_levers(status_quo, values, tmp_path)
    assert str(err.value).startswith("status_quo: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_scenario_without_policy_has_no_levers(historical):
    with pytest.raises(LeverError, match="no policy block"):
        lever_values(historical)


def test_a_scenario_typed_on_the_page_extends_the_scenario_files(status_quo, tmp_path):
    text = (
        "name: my_policy\nextends: status_quo.yaml\n"
        "policy:\n  start: 2020-06-01\n  us: {doctrine: none}\n"
    )
    loaded = add_scenario_text(text, status_quo, tmp_path)
    assert loaded.scenario.name == "my_policy"
    assert loaded.scenario.policy.us == {"doctrine": "none"}
    assert loaded.scenario.factions == status_quo.scenario.factions
    bad = text.replace("doctrine: none", "doctrine: nuclear")
    with pytest.raises(LeverError) as err:
        add_scenario_text(bad, status_quo, tmp_path, label="your scenario")
    assert str(err.value).startswith("your scenario:5: field 'policy.us.doctrine'")
    assert "nuclear" in str(err.value) and str(tmp_path) not in str(err.value)
