"""Paired comparison statistics: known answers, pairing checks, outputs and the CLI."""

import copy
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.analysis.compare import (
    OUTCOMES,
    CompareError,
    bootstrap_ci,
    check_windows,
    compare_outcomes,
    directory_names,
    load_comparison,
    outcome_frame,
    paired_difference,
    run_comparison,
    summarise,
    to_markdown,
)
from sim.cli import app
from sim.results.outcomes import METRICS
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS, SMALL

runner = CliRunner()


def runs_frame(n=5, **cols):
    df = pd.DataFrame({"run": np.arange(n)})
    for m in METRICS:
        df[m] = 0.0
    for k, v in cols.items():
        df[k] = np.asarray(v, dtype=float)
    return df


def write_scenario(path, **over):
    doc = copy.deepcopy(SMALL)
    doc.update(over)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --- known answers ------------------------------------------------------------------------------


def test_outcome_frame_derives_probabilities_and_never():
    df = runs_frame(
        4,
        attacks_us=[3, 0, 1, 2],
        attacks_on_pm=[0, 2, 0, 1],
        escalation_spiral=[1, 0, 0, 1],
        days_to_deescalation=[10, np.nan, 0, np.nan],
    )
    o = outcome_frame(df)
    assert list(o.columns) == [x.key for x in OUTCOMES]
    assert o["pm_attacked"].tolist() == [0, 1, 0, 1]
    assert o["never_deescalated"].tolist() == [0, 1, 0, 1]
    assert o["attacks_us"].tolist() == [3, 0, 1, 2]


def test_identical_scenarios_give_exactly_zero_difference():
    rng = np.random.default_rng(1)
    df = runs_frame(
        200,
        attacks_us=rng.poisson(30, 200),
        attacks_state=rng.poisson(5, 200),
        us_killed=rng.poisson(1, 200),
        us_strikes=rng.poisson(3, 200),
        truce_days=rng.integers(0, 100, 200),
        attacks_on_pm=rng.integers(0, 2, 200),
        escalation_spiral=rng.integers(0, 2, 200),
        days_to_deescalation=np.where(rng.random(200) < 0.2, np.nan, rng.integers(0, 90, 200)),
    )
    comp = compare_outcomes({"a": outcome_frame(df), "b": outcome_frame(df)}, seed=3)
    diffs = comp.table[comp.table["scenario"] == "b"]
    assert len(diffs) == len(OUTCOMES)
    assert (diffs["diff_mean"] == 0).all()
    assert (diffs["diff_ci_low"] == 0).all() and (diffs["diff_ci_high"] == 0).all()
    assert (diffs["diff_share_lower"] == 0).all() and (diffs["diff_share_higher"] == 0).all()


@settings(max_examples=25, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(1, 300))
def test_bootstrap_ci_of_a_constant_difference_is_that_constant(c, n):
    lo, hi, method = bootstrap_ci(np.full(n, c), seed=0)
    assert lo == c and hi == c and method == "constant"


def test_bootstrap_ci_is_seeded_and_covers_the_mean():
    d = np.random.default_rng(5).normal(2.0, 3.0, 500)
    a = bootstrap_ci(d, seed=(1, 2))
    b = bootstrap_ci(d, seed=(1, 2))
    assert a == b and a[2] == "BCa"
    assert a[0] < d.mean() < a[1]
    # the CI of the mean shrinks like 1/sqrt(n): about 2 * 1.96 * 3 / sqrt(500) wide
    assert 0.35 < a[1] - a[0] < 0.7


def test_bootstrap_ci_switches_to_percentile_for_many_replicates():
    d = np.random.default_rng(0).integers(-5, 6, 6000).astype(float)
    lo, hi, method = bootstrap_ci(d, seed=0)
    assert method == "percentile" and lo < d.mean() < hi


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=2, max_size=60))
def test_paired_difference_mean_is_difference_of_means(pairs):
    a = np.array([p[0] for p in pairs], float)
    b = np.array([p[1] for p in pairs], float)
    d = paired_difference(a, b, "count", seed=0)
    assert d["n"] == len(pairs)
    assert d["mean"] == pytest.approx(b.mean() - a.mean())
    assert d["share_lower"] == pytest.approx((b < a).mean())
    assert d["share_higher"] == pytest.approx((b > a).mean())
    if d["ci_method"] != "constant":
        assert d["ci_low"] <= d["mean"] + 1e-9 and d["mean"] - 1e-9 <= d["ci_high"]


def test_days_difference_uses_only_pairs_that_both_deescalated():
    a = np.array([10.0, np.nan, 5.0, 20.0])
    b = np.array([4.0, 3.0, np.nan, 10.0])
    d = paired_difference(a, b, "days", seed=0)
    assert d["n"] == 2 and d["mean"] == pytest.approx(((4 - 10) + (10 - 20)) / 2)
    with pytest.raises(CompareError):
        paired_difference(np.array([1.0, np.nan]), np.array([1.0, 2.0]), "count", seed=0)


def test_summarise_ranks_never_last():
    s = summarise(np.array([np.nan, np.nan, np.nan, 4.0]), "days")
    assert s["median"] == np.inf and s["q05"] == 4.0 and s["mean"] == 4.0
    s = summarise(np.array([1.0, 2.0, 3.0, np.nan]), "days")
    assert s["median"] == 2.0 and s["q95"] == np.inf
    s = summarise(np.array([0.0, 0.0, 1.0, 1.0]), "share")
    assert s["mean"] == 0.5
    s = summarise(np.arange(101.0), "count")
    assert (s["q05"], s["median"], s["q95"]) == (5.0, 50.0, 95.0)


def test_compare_refuses_different_replicates():
    a = outcome_frame(runs_frame(4))
    b = outcome_frame(runs_frame(5))
    with pytest.raises(CompareError, match="same replicates"):
        compare_outcomes({"a": a, "b": b}, seed=0)


def test_markdown_holds_both_tables_and_definitions():
    df = runs_frame(10, attacks_us=np.arange(10))
    df2 = runs_frame(10, attacks_us=np.arange(10) + 2)
    comp = compare_outcomes({"a": outcome_frame(df), "b": outcome_frame(df2)}, seed=0)
    md = to_markdown(comp)
    assert "| Attacks on US targets | 4 [0, 9] | 6 [2, 11] |" in md
    assert "| Attacks on US targets | +2 [+2, +2] |" in md
    assert "Escalation spiral" in md and "2 consecutive 30-day spans" in md


def test_directory_names_are_unique():
    ls = load_scenario(SCENARIOS / "truce.yaml")
    assert directory_names([ls, ls, ls]) == ["truce", "truce_2", "truce_3"]


# --- runs on the model ---------------------------------------------------------------------------


def test_same_scenario_twice_gives_zero_difference_and_no_capability_gives_no_attacks(tmp_path):
    base = write_scenario(tmp_path / "base.yaml", name="base")
    disarmed = copy.deepcopy(SMALL["factions"])
    zero = {"rocket": 0, "ied": 0, "drone": 0, "small_arms": 0}
    for f in disarmed:
        f.update(stocks=zero, resupply=zero)
    none = write_scenario(tmp_path / "none.yaml", name="disarmed", factions=disarmed)
    loaded = [load_scenario(p) for p in (base, base, none)]
    comp = run_comparison(loaded, tmp_path / "cmp", runs=30, seed=4)
    assert comp.names == ("base", "base_2", "disarmed")
    t = comp.table.set_index(["outcome", "scenario"])
    for o in OUTCOMES:
        row = t.loc[(o.key, "base_2")]
        assert row["diff_mean"] == 0 and row["diff_ci_low"] == 0 and row["diff_ci_high"] == 0
    for key in ("attacks_us", "attacks_state"):
        assert t.loc[(key, "disarmed"), "median"] == 0 and t.loc[(key, "disarmed"), "q95"] == 0
        assert comp.outcomes["disarmed"][key].sum() == 0
    assert t.loc[("attacks_us", "base"), "mean"] > 0  # the check can fail: the base does attack
    assert t.loc[("attacks_us", "disarmed"), "diff_mean"] == pytest.approx(
        -t.loc[("attacks_us", "base"), "mean"]
    )
    # everything needed to redo the statistics is saved, and they come out identical
    again, meta = load_comparison(tmp_path / "cmp")
    pd.testing.assert_frame_equal(again.table, comp.table)
    assert meta["seed"] == 4 and [s["name"] for s in meta["scenarios"]] == list(comp.names)
    csv = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert len(csv) == len(OUTCOMES) * 3
    assert (tmp_path / "cmp" / "base_2" / "manifest.json").exists()


def test_windows_must_match(tmp_path):
    """Horizons must match; intervention dates may differ (outcomes from the earliest)."""
    a = write_scenario(tmp_path / "a.yaml", name="a", policy={"start": "2020-06-01"})
    b = write_scenario(tmp_path / "b.yaml", name="b", policy={"start": "2020-07-01"})
    c = write_scenario(tmp_path / "c.yaml", name="c", end="2020-11-30")
    assert check_windows([load_scenario(b), load_scenario(a)])[1] == dt.date(2020, 6, 1)
    a2 = write_scenario(tmp_path / "a2.yaml", name="a", policy={"start": "2020-07-01"})
    with pytest.raises(CompareError, match="scenario name 'a' is also the name of"):
        check_windows([load_scenario(a), load_scenario(a2)])
    with pytest.raises(CompareError, match="horizon"):
        check_windows([load_scenario(write_scenario(tmp_path / "d.yaml")), load_scenario(c)])


def test_cli_compares_different_intervention_dates_from_the_earliest(tmp_path):
    """Issue 16: different intervention dates are a supported comparison, said in the header."""
    a = write_scenario(tmp_path / "a.yaml", name="a", policy={"start": "2020-06-01"})
    b = write_scenario(tmp_path / "b.yaml", name="b", policy={"start": "2020-07-01"})
    out = tmp_path / "out"
    args = ["compare", str(a), str(b), "--runs", "3", "--out", str(out), "--no-plots", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["outcome_from"] == "2020-06-01"
    assert meta["policy_starts"] == {"a": "2020-06-01", "b": "2020-07-01"}
    manifest = json.loads((out / "b" / "manifest.json").read_text())
    assert manifest["outcome_from"] == "2020-06-01"
    assert (
        "Intervention dates differ (a 2020-06-01, b 2020-07-01)"
        in (out / "comparison.md").read_text()
    )


def test_cli_compares_policy_scenarios(tmp_path):
    out = tmp_path / "cmp"
    res = runner.invoke(
        app,
        [
            "compare",
            str(SCENARIOS / "strong_us_retaliation.yaml"),
            str(SCENARIOS / "truce.yaml"),
            "--runs",
            "12",
            "--out",
            str(out),
            "--no-plots",
            "-q",
            "--fixed-parameters",
        ],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    # the status quo is added as the reference and compared first
    assert "Attacks on US targets" in res.output and "truce - status_quo" in res.output
    assert "strong_us_retaliation - status_quo" in res.output
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["outcome_from"] == "2020-06-01" and meta["runs"] == 12
    md = (out / "comparison.md").read_text()
    assert "strong_us_retaliation" in md and "P(escalation spiral)" in md
    for name in ("strong_us_retaliation", "truce"):
        m = json.loads((out / name / "manifest.json").read_text())
        assert m["seed"] == meta["seed"] and m["runs"] == 12
    # a second call without --resume refuses to overwrite finished results
    res = runner.invoke(
        app,
        [
            "compare",
            str(SCENARIOS / "truce.yaml"),
            "--runs",
            "12",
            "--out",
            str(out),
            "-q",
            "--fixed-parameters",
        ],
    )
    assert res.exit_code == 2 and "already holds finished results" in res.output
    assert (out / "comparison.json").exists()  # refused before touching anything
    # --resume reuses the finished runs and reproduces the same statistics
    before = (out / "comparison.csv").read_text()
    res = runner.invoke(
        app,
        [
            "compare",
            str(SCENARIOS / "strong_us_retaliation.yaml"),
            str(SCENARIOS / "truce.yaml"),
            "--runs",
            "12",
            "--out",
            str(out),
            "--resume",
            "--no-plots",
            "-q",
            "--fixed-parameters",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "comparison.csv").read_text() == before


def test_cli_falls_back_to_the_fixed_point_without_a_posterior(tmp_path, monkeypatch):
    write_scenario(tmp_path / "status_quo.yaml", name="status_quo", policy={"start": "2020-06-01"})
    b = write_scenario(
        tmp_path / "b.yaml", name="b", policy={"start": "2020-06-01", "us": {"strike_rate": 0.9}}
    )
    monkeypatch.chdir(tmp_path)  # no calibration/posterior.parquet here
    out = tmp_path / "cmp"
    args = ["compare", str(b), "--runs", "4", "--out", str(out), "--no-plots", "-q"]
    res = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    line = "calibration/posterior.parquet not found: comparing at the fixed (fitted) parameters"
    assert line in res.output
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["base"] == "status_quo" and meta["posterior"] is None
    assert meta["parameters"].startswith("fixed (fitted) point only: calibration/posterior")
    assert "b - status_quo" in res.output
    # an explicit --posterior that does not exist is an input error, before anything runs
    res = runner.invoke(app, [*args, "--overwrite", "--posterior", str(tmp_path / "no.parquet")])
    assert res.exit_code == 2 and "no.parquet: no posterior sample" in res.output
    assert "Traceback" not in res.output
