"""Validation messages and warnings of issue 16 (items 3, 4 and 5)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT

runner = CliRunner()
BAD = (
    "name: t\n"
    "start: 2020-01-01\n"
    "end: 2020-2-01\n"  # line 3: not YYYY-MM-DD
    "us: {doctrin: none}\n"  # line 4: a typo
    "factions:\n"
    "  - {name: A, discipline: 3}\n"  # line 6: out of range
)


def errors_of(path: Path) -> ScenarioError:
    """Return the error raised by loading ``path``."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


def test_every_error_of_a_file_sorted_by_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(BAD)
    e = errors_of(p)
    assert [x.line for x in e.errors] == [3, 4, 6]
    assert e.errors[0].expected == "a date written YYYY-MM-DD"
    assert "did you mean 'doctrine'?" in e.errors[1].expected
    assert "valid keys here: doctrine, attribution" in e.errors[1].expected
    assert e.errors[1].found == "the key 'doctrin'"
    assert str(e.errors[2]).endswith(
        "field 'factions[0].discipline': expected a number from 0 to 1; found 3"
    )


def test_no_python_reprs_in_messages(tmp_path):
    """A dangling faction name: the roster is listed as text, not as a Python list."""
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: t\nstart: 2020-01-01\nend: 2020-12-31\nfactions: [{name: A}, {name: B}]\n"
        "injects: [{date: 2020-03-01, kind: arrest, faction: C}]\n"
    )
    e = errors_of(p)
    assert "a faction of the roster (A, B)" in str(e) and "found 'C'" in str(e)
    assert "['" not in str(e) and "datetime" not in str(e)


def test_a_calibrated_value_out_of_range_is_blamed_on_the_calibration_file(tmp_path):
    (tmp_path / "cal.yaml").write_text("factions:\n  A:\n    discipline: 2\n")
    sub = tmp_path / "sc"
    sub.mkdir()
    p = sub / "s.yaml"
    p.write_text(
        "name: t\nstart: 2020-01-01\nend: 2020-12-31\ncalibration: ../cal.yaml\n"
        "factions: [{name: A}]\n"
    )
    e = errors_of(p)
    assert (e.file, e.line) == (os.path.normpath(tmp_path / "cal.yaml"), 3)  # no sc/../
    assert ".." not in e.file and "expected a number from 0 to 1; found 2" in str(e)


def test_validate_checks_every_file_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    res = runner.invoke(
        app, ["validate", str(bad), str(ROOT / "scenarios" / "truce.yaml"), str(bad)]
    )
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.output.count("did you mean 'doctrine'?") == 2  # both bad files reported
    assert "truce.yaml: ok" in res.output


def test_warning_for_a_horizon_past_the_documented_period(tmp_path):
    p = tmp_path / "long.yaml"
    p.write_text(
        f"extends: {os.path.relpath(ROOT / 'scenarios' / 'historical.yaml', tmp_path)}\n"
        "end: 2024-12-31\n"
    )
    w = load_scenario(p).warnings
    assert len(w) == 1 and "after the last documented event (2024-12-23" in w[0]
    fitted = yaml.safe_load((ROOT / "calibration" / "fitted.yaml").read_text())["fit"]["tallies"]
    tallies = pd.read_csv(ROOT / "calibration" / "data" / "tallies.csv")
    last = tallies[tallies["id"].isin(fitted)]["window_end"].max()  # the fit's last window
    assert f"fitted up to {last}" in w[0] and f"{p}:2" in w[0]
    assert load_scenario(ROOT / "scenarios" / "historical.yaml").warnings == ()


def test_documented_end_is_the_last_event_of_the_data():
    """The constant behind the horizon warning stays true to calibration/data/events.csv."""
    import pandas as pd

    from sim.scenario.compose import DOCUMENTED_END

    dates = pd.to_datetime(pd.read_csv(ROOT / "calibration" / "data" / "events.csv")["date"])
    assert dates.max().date() == DOCUMENTED_END


def test_warning_for_a_us_policy_that_keeps_forced_us_strikes(tmp_path):
    rel = os.path.relpath(ROOT / "scenarios" / "historical.yaml", tmp_path)
    p = tmp_path / "p.yaml"
    p.write_text(
        f"extends: {rel}\nname: p\npolicy:\n  start: 2020-06-01\n  us: {{doctrine: leadership}}\n"
    )
    w = load_scenario(p).warnings
    assert len(w) == 1 and "changes us.doctrine but keeps 2 forced us_strike" in w[0]
    assert "drop_injects: [us_strike]" in w[0] and "2021-02-25, 2021-06-27" in w[0]
    p.write_text(p.read_text() + "  drop_injects: [us_strike]\n")
    assert load_scenario(p).warnings == ()


def test_run_without_out_refuses_a_comparison_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    taken = tmp_path / "results" / "truce"
    taken.mkdir(parents=True)
    (taken / "comparison.json").write_text("{}")
    res = runner.invoke(app, ["run", str(ROOT / "scenarios" / "truce.yaml"), "-n", "1", "-q"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "holds the output of a comparison (escsim compare)" in res.output
    assert sorted(p.name for p in taken.iterdir()) == ["comparison.json"]


def test_replay_on_a_comparison_points_to_its_scenario_directories(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps({}))
    (tmp_path / "comparison.json").write_text("{}")
    res = runner.invoke(app, ["replay", str(tmp_path)])
    assert res.exit_code == 2 and "it is a comparison directory" in res.output
    assert str(tmp_path / "a") in res.output and str(tmp_path / "b") in res.output


def test_a_strike_with_a_null_faction_is_blamed_on_the_faction_line(tmp_path):
    """Found by the fuzz test: the error named injects[0].faction but the inject's first line."""
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: t\nstart: 2020-01-01\nend: 2020-12-31\nfactions: [{name: A}, {name: B}]\n"
        "injects:\n  - date: 2020-03-01\n    kind: arrest\n    faction: null\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert (info.value.line, info.value.field) == (8, "injects[0].faction")
    p.write_text(
        "name: t\nstart: 2020-01-01\nend: 2020-12-31\nfactions: [{name: A}, {name: B}]\n"
        "injects:\n  - date: 2020-03-01\n    kind: arrest\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert (info.value.line, info.value.field) == (6, "injects[0].faction")  # no faction line
