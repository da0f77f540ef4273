"""The escsim command line: run, validate, exit codes."""

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from sim import __version__
from sim.cli import app
from sim.results.outcomes import OUTCOME_BY_KEY
from tests.conftest import SCENARIOS

runner = CliRunner()


def test_run_historical_with_mesa_writes_results_with_every_kind(tmp_path):
    out = tmp_path / "hist"
    res = runner.invoke(
        app,
        [
            "run",
            str(SCENARIOS / "historical.yaml"),
            "--runs",
            "20",
            "--engine",
            "mesa",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    kinds = set(pq.read_table(out / "events.parquet", columns=["kind"]).column("kind").to_pylist())
    assert {"attack", "us_strike", "arrest", "truce_start", "truce_end"} <= kinds
    assert json.loads((out / "manifest.json").read_text())["engine"] == "mesa"
    assert OUTCOME_BY_KEY["attacks_us"].label in res.output and "median" in res.output


def test_invalid_scenario_exits_2_with_line_and_field_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (SCENARIOS / "historical.yaml").read_text().replace("discipline: 0.7", "discipline: 7")
    text = text.replace("calibration: ../calibration/fitted.yaml", "")
    bad.write_text(text)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(bad), "--runs", "3", "--out", str(out)])
    assert res.exit_code == 2
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "discipline: 7" in t)
    assert f"bad.yaml:{line}" in res.output and "factions[0].discipline" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_validate(tmp_path):
    res = runner.invoke(app, ["validate", str(SCENARIOS / "historical.yaml")])
    assert res.exit_code == 0 and "ok" in res.output
    bad = tmp_path / "dup.yaml"
    bad.write_text("name: a\nname: b\n")
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2 and "dup.yaml:2" in res.output and "'name'" in res.output


def test_missing_included_file_names_the_referring_line(tmp_path):
    bad = tmp_path / "h.yaml"
    bad.write_text((SCENARIOS / "historical.yaml").read_text())
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2 and "field 'calibration'" in res.output
    assert "h.yaml:" in res.output and "does not exist" in res.output


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_bad_option_value_exits_2(tmp_path):
    res = runner.invoke(
        app,
        [
            "run",
            str(SCENARIOS / "historical.yaml"),
            "--runs",
            "0",
            "--out",
            str(tmp_path / "o"),
            "-q",
        ],
    )
    assert res.exit_code == 2 and "--runs" in res.output and not (tmp_path / "o").exists()
