"""Structural alternatives: reading, how their values enter a draw, the sign verdict, outputs."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.analysis.alternatives import (
    DEFAULT_ALTERNATIVES,
    DEPENDS,
    HOLDS,
    AlternativesError,
    AlternativeSet,
    read_alternatives,
    sign_table,
    world_overrides,
)
from sim.analysis.compare import ALTERNATIVES_FILE, load_comparison, run_comparison
from sim.analysis.design import DesignScenario, parameter_catalogue
from sim.analysis.posterior import Posterior, run_posterior, with_values
from sim.model import layout as L
from sim.results.outcomes import METRICS
from sim.scenario import load_scenario
from tests.analysis.test_compare import write_scenario
from tests.conftest import ROOT, SCENARIOS, build

CATALOGUE = parameter_catalogue(build())


def write(tmp_path, text: str):
    path = tmp_path / "alternatives.yaml"
    path.write_text(text)
    return path


def test_shipped_alternatives_are_valid():
    sc = load_scenario(SCENARIOS / "status_quo.yaml").scenario
    alts = read_alternatives(ROOT / DEFAULT_ALTERNATIVES, parameter_catalogue(sc))
    assert [a.name for a in alts] == ["deterrence", "restraint", "both"]
    for a in alts:
        assert a.source and a.parameters
        # the episode's own conditions are recorded apart, never applied to a policy comparison
        assert not {"iran.war_appetite", "militia.beta_directive"} & set(a.parameters)
    deter, restraint, both = alts
    assert deter.parameters["iran.restraint"] == 0.0
    assert restraint.parameters["iran.restraint"] > 0 and both.parameters["iran.restraint"] > 0


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "alternatives:\n  - name: a\n    label: x\n    source: s\n    parameters:\n"
            "      militia.no_such: 1.0\n",
            6,
            "field 'alternatives[0].parameters.militia.no_such': expected a posterior parameter",
        ),
        (
            "alternatives:\n  - name: a\n    label: x\n    source: s\n    parameters:\n"
            "      militia.beta_deterrence: high\n",
            6,
            "expected a number; found 'high'",
        ),
        (
            "alternatives:\n  - name: a\n    label: x\n    source: s\n"
            "    parameters: {truce.breakdown: 1.5}\n",
            5,
            "expected a finite number in [0, 1]; found 1.5",
        ),
        (
            "alternatives:\n  - {name: a, label: x, source: s, parameters: {iran.revenge: 1}}\n"
            "  - {name: a, label: y, source: s, parameters: {iran.revenge: 2}}\n",
            3,
            "field 'alternatives[1].name': expected a name not used by another alternative",
        ),
        ("alternatives: {}\n", 1, "field 'alternatives': expected a list of alternatives"),
        (
            "alternatives:\n  - {name: a, label: x, parameters: {iran.revenge: 1}}\n",
            2,
            "field 'alternatives[0].source': expected a non-empty text; found None",
        ),
    ],
)
def test_bad_alternatives_name_file_line_field(tmp_path, text, line, message):
    path = write(tmp_path, text)
    with pytest.raises(AlternativesError) as err:
        read_alternatives(path, CATALOGUE)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_alternative_at_the_scenarios_own_values_reproduces_the_posterior_run():
    # known answer: fixing a parameter at the value every draw already has changes nothing;
    # fixing it elsewhere changes the outcomes on the same replicates and draws
    sc = build({"policy": {"start": "2020-06-01", "us": {"strike_rate": 0.9}}})
    ds = DesignScenario.of(sc)
    post = Posterior(
        ("scale.factions.base_rate",), np.array([[0.5], [2.0]]), np.array([0.5, 0.5]), "toy"
    )
    draws = np.array([0, 1, 1, 0, 1, 0])
    base = run_posterior(ds, post, draws, per_draw=1)
    own = sc.militia.beta_deterrence
    same = run_posterior(
        ds, post, draws, 1, world_overrides({"militia.beta_deterrence": own}, ds.catalogue)
    )
    np.testing.assert_array_equal(base, same)
    same_rate = run_posterior(ds, with_values(post, {"scale.factions.base_rate": 2.0}), draws, 1)
    np.testing.assert_array_equal(same_rate[draws == 1], base[draws == 1])
    low = run_posterior(ds, with_values(post, {"scale.factions.base_rate": 0.25}), draws, 1)
    j = METRICS.index("attacks_us")
    assert low[:, j].sum() < base[:, j].sum()


def test_a_policy_lever_stays_the_policys_after_its_start():
    sc = build({"policy": {"start": "2020-06-01", "us": {"strike_rate": 0.9}}})
    ds = DesignScenario.of(sc)
    post = Posterior(("iran.revenge",), np.array([[1.0]]), np.array([1.0]), "toy")
    from sim.analysis.posterior import posterior_design

    fixed = world_overrides({"us.strike_rate": 0.05, "iran.appetite": 3.0}, ds.catalogue)
    d = posterior_design(ds, post, np.array([0]), fixed)
    i, k = L.G_INDEX["us_strike_rate"], L.G_INDEX["ir_appetite"]
    assert d.g_before[0, i] == 0.05 and d.g_after[0, i] == 0.9  # the lever is the policy's
    assert d.g_before[0, k] == 3.0 and d.g_after[0, k] == 3.0


def test_sign_table_says_when_the_answer_depends_on_the_structure():
    def rows(strong_vs_sq, truce_vs_sq):
        return [
            {"outcome": "attacks_us", "a": "sq", "b": "strong", "difference_mean": strong_vs_sq},
            {"outcome": "attacks_us", "a": "sq", "b": "truce", "difference_mean": truce_vs_sq},
            {"outcome": "us_deaths", "a": "sq", "b": "strong", "difference_mean": -1.0},
        ]

    table = sign_table(
        {"posterior": rows(500.0, -100.0), "deterrence": rows(-90.0, -80.0), "x": rows(0, -1)},
        "attacks_us",
    )
    by = {(t["a"], t["b"]): t for t in table}
    assert set(by) == {("sq", "strong"), ("sq", "truce")}
    assert by["sq", "strong"]["flips"] and by["sq", "strong"]["verdict"] == DEPENDS
    assert not by["sq", "truce"]["flips"] and by["sq", "truce"]["verdict"] == HOLDS
    assert by["sq", "strong"]["difference_mean"] == {
        "posterior": 500.0,
        "deterrence": -90.0,
        "x": 0,
    }


def test_comparison_reports_each_structure_and_its_sign(tmp_path):
    ref = load_scenario(
        write_scenario(tmp_path / "ref.yaml", name="ref", policy={"start": "2020-06-01"})
    )
    strong = load_scenario(
        write_scenario(
            tmp_path / "strong.yaml",
            name="strong",
            policy={"start": "2020-06-01", "us": {"strike_rate": 0.9, "cooldown_days": 3}},
        )
    )
    post = Posterior(
        ("scale.factions.base_rate",), np.array([[0.8], [1.2]]), np.array([0.5, 0.5]), "toy"
    )
    path = write(
        tmp_path,
        "alternatives:\n"
        "  - {name: calm, label: no attacks to speak of, source: test,"
        " parameters: {scale.factions.base_rate: 0.01}}\n"
        "  - {name: angry, label: grievance, source: test,"
        " parameters: {us.strike_grievance: 3.0, militia.beta_deterrence: 0.0}}\n",
    )
    alts = AlternativeSet(str(path), read_alternatives(path, parameter_catalogue(ref.scenario)))
    out = tmp_path / "cmp"
    run_comparison([ref, strong], out, runs=8, seed=3, posterior=post, alternatives=alts)
    meta = json.loads((out / "comparison.json").read_text())
    alt = meta["alternatives"]
    assert [s["name"] for s in alt["structures"]] == ["posterior", "calm", "angry"]
    assert alt["structures"][1]["parameters"] == {"scale.factions.base_rate": 0.01}
    (sign,) = alt["signs"]
    assert (sign["a"], sign["b"]) == ("ref", "strong")
    assert set(sign["difference_mean"]) == {"posterior", "calm", "angry"}
    # the posterior structure's pair row is the answer row of the reference comparison
    post_row = next(r for r in alt["structures"][0]["pairs"] if r["outcome"] == "attacks_us")
    answer = next(r for r in meta["differences"] if r["outcome"] == "attacks_us")
    assert post_row["difference_mean"] == pytest.approx(answer["difference_mean"])
    assert post_row["total_interval90"] == pytest.approx(answer["total_interval90"])
    # "calm" all but removes attacks: its levels are far below the posterior's
    table = pd.read_parquet(out / ALTERNATIVES_FILE)
    assert set(table["structure"]) == {"calm", "angry"} and len(table) == 2 * 2 * 8
    calm = table[table["structure"] == "calm"]["attacks_us"].sum()
    angry = table[table["structure"] == "angry"]["attacks_us"].sum()
    assert calm < angry
    md = (out / "comparison.md").read_text()
    assert "## The answer under each structural alternative" in md
    assert ("flips" in md) == sign["flips"]
    _, again = load_comparison(out)
    assert again["alternatives"] == alt


def test_cli_refuses_a_bad_alternatives_file_and_skips_with_no_alternatives(tmp_path):
    from typer.testing import CliRunner

    from sim.cli import app

    a = write_scenario(tmp_path / "a.yaml", name="a", policy={"start": "2020-06-01"})
    b = write_scenario(tmp_path / "b.yaml", name="b", policy={"start": "2020-06-01"})
    bad = write(tmp_path, "alternatives:\n  - {name: 1x, label: x, source: s, parameters: {}}\n")
    out = tmp_path / "out"
    base = ["compare", str(a), str(b), "-n", "2", "-o", str(out), "--no-plots", "-q"]
    res = CliRunner().invoke(app, [*base, "--reference", str(a), "--alternatives", str(bad)])
    assert res.exit_code == 2, res.output
    assert f"{bad}:2: field 'alternatives[0].name'" in res.output
    assert "Traceback" not in res.output and not out.exists()
    res = CliRunner().invoke(
        app, [*base, "--reference", str(a), "--alternatives", str(bad), "--no-alternatives"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((out / "comparison.json").read_text())["alternatives"] is None


def test_brief_and_markdown_say_when_the_answer_depends_on_the_structure():
    from sim.analysis.compare import alternatives_markdown
    from sim.report.brief import structure_lines

    def pair(m):
        return {
            "outcome": "attacks_us",
            "kind": "count",
            "a": "status_quo",
            "b": "strong",
            "difference_mean": m,
            "total_interval90": [m - 50, m + 50],
            "p_b_lower": 0.1 if m > 0 else 0.9,
        }

    structures = [
        {"name": "posterior", "label": "as fitted", "source": "p", "parameters": {}},
        {"name": "deterrence", "label": "deter", "source": "s", "parameters": {"x.y": 1.0}},
    ]
    for s, m in zip(structures, (500.0, -90.0), strict=True):
        s["pairs"] = [pair(m)]
    meta = {
        "alternatives": {
            "path": "alt.yaml",
            "outcome": "attacks_us",
            "structures": structures,
            "signs": sign_table({s["name"]: s["pairs"] for s in structures}, "attacks_us"),
        }
    }
    (line,) = structure_lines(meta)
    assert DEPENDS in line and "under posterior, deterrence:" in line
    assert "strong - status_quo +500 / -90 (comparison.md)" in line
    md = alternatives_markdown(meta)
    assert "| strong - status_quo | +500 [+450, +550] 10% | -90 [-140, -40] 90% | flips |" in md
    structures[1]["pairs"] = [pair(90.0)]
    meta["alternatives"]["signs"] = sign_table(
        {s["name"]: s["pairs"] for s in structures}, "attacks_us"
    )
    assert HOLDS in structure_lines(meta)[0]
    assert structure_lines({}) == []
