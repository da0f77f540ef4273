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


def test_summary_tables_use_labels_and_full_names_at_80_columns(monkeypatch):
    """Issue 16 item 8: labels, no median of a yes/no outcome, scenario names never cut."""
    # the run summary itself (labels, shares) is sim.cli.common.summary_table, from main
    import numpy as np
    import pyarrow as pa
    from rich.console import Console

    from sim.analysis.compare import compare_outcomes, outcome_frame
    from sim.cli import analysis, common
    from sim.cli.common import summary_table
    from sim.results.outcomes import METRICS, OUTCOMES

    rng = np.random.default_rng(0)
    cols = {m: rng.integers(0, 3, 20).astype(float) for m in METRICS}
    cols["escalation_spiral"] = (np.arange(20) < 5).astype(float)  # 25% of replicates
    cols["front_claim_share"] = rng.uniform(0, 1, 20)
    table = pa.table({"run": np.arange(20), **cols})
    console = Console(width=80, record=True)
    console.print(summary_table(table, "t"))
    text = console.export_text()
    for o in OUTCOMES:
        assert all(word in text for word in o.label.split()), o.label  # folded labels in full
    spiral = next(line for line in text.splitlines() if "escalation spiral" in line)
    cells = [c.strip() for c in spiral.split("│")[1:-1]]
    assert cells[1:] == ["", "", "", "25.0%"]  # a share of replicates, no median
    assert "attacks_us" not in text and "…" not in text
    names = ["unified_iranian_command", "strong_us_retaliation", "us_withdrawal_by_mid_2021"]
    frames = {n: outcome_frame(table.to_pandas()) for n in names}
    comp = compare_outcomes(frames, 1)
    console = Console(width=80, record=True)
    monkeypatch.setattr(common, "out", console)
    meta = {"runs": 20, "outcome_from": "2020-06-01", "end": "2021-12-31"}
    analysis._print_comparison(comp, meta)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    joined = "".join(text.split())  # a folded header reads in full once spaces are removed
    for name in names:
        assert name in joined or all(part in text for part in name.split("_")), name


def test_the_answer_table_never_cuts_names_or_labels_at_80_columns(monkeypatch):
    """Issue 16 item 8 kept for the posterior answer table (it cut 'strong_us…' at 80 columns)."""
    from rich.console import Console

    from sim.cli import analysis, common
    from sim.results.outcomes import OUTCOME_BY_KEY

    names = ["strong_us_retaliation", "unified_iranian_command", "us_withdrawal"]
    differences = [
        {
            "outcome": key,
            "kind": OUTCOME_BY_KEY[key].kind,
            "scenario": name,
            "reference": "status_quo",
            "difference_mean_fixed": 12.5,
            "mc_ci95": [10.0, 15.0],
            "difference_mean": 12.5,
            "total_interval90": None,
            "p_scenario_lower": None,
            "p_scenario_higher": None,
            "n_draws": None,
        }
        for key in ("attacks_us", "escalation_spiral", "days_to_deescalation")
        for name in names
    ]
    meta = {"base": "status_quo", "parameters": "fixed", "differences": differences}
    console = Console(width=80, record=True)
    monkeypatch.setattr(common, "out", console)
    analysis._print_answer(meta)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    body = [ln.split("│")[1:-1] for ln in text.splitlines() if ln.startswith("│")]
    column = ["".join("".join(cells[c].split()) for cells in body) for c in (0, 1)]
    # the folded cells of each column, read top to bottom, give every label and name in full
    assert column[0] == "".join(
        "".join(OUTCOME_BY_KEY[d["outcome"]].label.split()) for d in differences
    )
    assert column[1] == "".join(f"{d['scenario']}-status_quo" for d in differences)
