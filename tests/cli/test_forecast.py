"""``escsim forecast`` and ``escsim evaluate`` end to end on tiny budgets; bad input exits 2."""

import datetime as dt
import json

import pandas as pd
from typer.testing import CliRunner

from sim.cli import app
from tests.conftest import SCENARIOS

runner = CliRunner()
HIST = str(SCENARIOS / "historical.yaml")


def test_forecast_writes_weights_manifest_and_fan(tmp_path):
    out = tmp_path / "fc"
    r = runner.invoke(
        app,
        [
            "forecast",
            HIST,
            "--origin",
            "2020-07-31",
            "--horizon",
            "60d",
            "--runs",
            "40",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    w = pd.read_parquet(out / "weights.parquet")
    assert len(w) == 40 and abs(w["weight"].sum() - 1.0) < 1e-9
    m = json.loads((out / "manifest.json").read_text())
    assert m["label"] == "no future injects" and 1.0 <= m["ess"] <= 40
    assert "T08" in m["assimilated_tallies"] and "T10" not in m["assimilated_tallies"]
    assert (out / "plots" / "forecast_fan.png").exists()
    fc = pd.read_csv(out / "forecast.csv")
    assert fc["after_origin"].any() and (fc["q05"] <= fc["q95"]).all()


def test_condition_on_a_documented_event_keeps_only_worlds_with_it(tmp_path):
    out = tmp_path / "cond"
    r = runner.invoke(
        app,
        [
            "forecast",
            HIST,
            "--origin",
            "2021-10-31",
            "--horizon",
            "30d",
            "--runs",
            "200",
            "--condition",
            "attack:us_base:2021-11-05",
            "--out",
            str(out),
        ],
    )
    if r.exit_code == 2:  # no replicate with that event: a clear message, nothing written
        assert "no trajectory contains" in r.output and not out.exists()
        return
    assert r.exit_code == 0, r.output
    w = pd.read_parquet(out / "weights.parquet")
    assert (w["weight"] == 0).any() or len(w) == 200


def test_bad_input_exits_2_with_one_line(tmp_path):
    for args in (
        ["--origin", "2020-13-01"],
        ["--origin", "2020-07-31", "--horizon", "ninety"],
        ["--origin", "2020-07-31", "--condition", "strike:pm:2021-11-07"],
        ["--origin", "2030-01-01"],
    ):
        r = runner.invoke(app, ["forecast", HIST, *args, "--out", str(tmp_path / "x")])
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
    assert not (tmp_path / "x").exists()


def test_evaluate_quick_writes_a_scoreboard(tmp_path):
    r = runner.invoke(app, ["evaluate", "--quick", "--runs", "20", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(tmp_path / "scores.csv")
    assert {"origin", "horizon", "target", "method", "log_score", "crps", "wis"} <= set(s.columns)
    assert s["origin"].nunique() == 3
    assert "QUICK" in (tmp_path / "summary.md").read_text()


def test_the_day_before_the_start_is_an_origin_and_the_day_before_that_is_not(tmp_path):
    """An origin may precede the scenario by one day (nothing known yet), as in evaluate."""
    from sim.scenario import load_scenario

    start = load_scenario(HIST).scenario.start
    early = (start - dt.timedelta(days=2)).isoformat()
    r = runner.invoke(app, ["forecast", HIST, "--origin", early, "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "expected a date from the day before" in r.output, r.output
    assert not (tmp_path / "x").exists()
    eve = (start - dt.timedelta(days=1)).isoformat()
    out = tmp_path / "eve"
    args = ["forecast", HIST, "--origin", eve, "--horizon", "30d", "--runs", "20"]
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    fc = pd.read_csv(out / "forecast.csv")
    assert fc["after_origin"].all()  # every month of the forecast lies after the origin
