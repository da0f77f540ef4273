"""``escsim episode``: bad input exits 2 with one line and writes nothing (no simulation)."""

import pytest
from typer.testing import CliRunner

from sim.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1,x"], "--seeds: expected comma-separated integers"),
        (["--seeds", "1,1"], "--seeds: expected one or more distinct integers"),
        (["--alternatives", "deterrence,magic"], "--alternatives: expected names among"),
        (["--particles", "1"], "--particles: expected an integer >= 2; found 1"),
        (["--runs", "0"], "--runs: expected an integer >= 2; found 0"),
        (["--scenario", "no_such.yaml"], "--scenario: expected an existing file"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "ep"
    r = runner.invoke(app, ["episode", "--out", str(out), *args])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())
    assert "Traceback" not in r.output
    assert not out.exists()
