"""A policy's ``factions:`` levers: validation messages and composition (issue 16 item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario
from tests.scenario.test_compose import child, tree  # noqa: F401 (fixture)

HEAD = "name: t\nstart: 2020-01-01\nend: 2020-12-31\nfactions: [{name: A}, {name: B}]\n"


def load(tmp_path: Path, policy: str):
    p = tmp_path / "p.yaml"
    p.write_text(HEAD + "policy:\n  start: 2020-06-01\n" + policy)
    return load_scenario(p)


def error(tmp_path: Path, policy: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, policy)
    return info.value


def test_levers_load_by_name(tmp_path):
    sc = load(tmp_path, "  factions:\n    A: {discipline: 0.9, stocks: {rocket: 0}}\n    B: null\n")
    levers = sc.scenario.policy.factions
    assert levers["A"].discipline == 0.9 and levers["A"].stocks.rocket == 0
    assert levers["A"].stocks.ied is None and levers["A"].base_rate is None
    assert levers["B"] is None


def test_a_faction_not_on_the_roster_is_an_error_with_its_line(tmp_path):
    e = error(tmp_path, "  factions:\n    C: {discipline: 0.9}\n")
    assert (e.line, e.field) == (8, "policy.factions.C")
    assert e.expected == "a faction of the roster (A, B)" and e.found == "'C'"


def test_an_unknown_lever_names_the_valid_ones(tmp_path):
    e = error(tmp_path, "  factions:\n    A: {disciplne: 0.9}\n")
    assert e.line == 8 and e.field == "policy.factions.A.disciplne"
    assert "did you mean 'discipline'?" in e.expected
    assert "valid keys here: base_rate, discipline, grievance_us" in e.expected


def test_an_out_of_range_lever_says_the_range(tmp_path):
    e = error(tmp_path, "  factions:\n    A:\n      discipline: 1.5\n")
    assert str(e).endswith(
        "p.yaml:9: field 'policy.factions.A.discipline': expected a number from 0 to 1; found 1.5"
    )


def test_a_parameter_that_is_no_lever_is_refused(tmp_path):
    """Only state a policy can set mid-run: a faction's fronts are fixed for the run."""
    e = error(tmp_path, "  factions:\n    A: {fronts: [X]}\n")
    assert e.field == "policy.factions.A.fronts" and "valid keys here" in e.expected


def test_a_child_that_removes_a_faction_drops_its_levers_with_a_warning(tree):  # noqa: F811
    (tree / "scenarios" / "p.yaml").write_text(
        "extends: historical.yaml\nname: p\npolicy:\n  start: 2020-06-01\n"
        "  factions: {Badr: {discipline: 0.2}, KH: null}\n"
    )
    sub = child(tree, "factions: {Badr: null}\n", "c.yaml")
    sub.write_text(sub.read_text().replace("historical.yaml", "p.yaml"))
    loaded = load_scenario(sub)
    assert list(loaded.scenario.policy.factions) == ["KH"]
    assert any("policy.factions" in w and "Badr" in w for w in loaded.warnings)


def test_a_child_edits_a_parents_lever_by_name(tree):  # noqa: F811
    (tree / "scenarios" / "p.yaml").write_text(
        "extends: historical.yaml\nname: p\npolicy:\n  start: 2020-06-01\n"
        "  factions: {KH: {discipline: 0.2, base_rate: 0.01}}\n"
    )
    sub = tree / "scenarios" / "c.yaml"
    sub.write_text("extends: p.yaml\nname: c\npolicy:\n  factions: {KH: {discipline: 0.5}}\n")
    kh = load_scenario(sub).scenario.policy.factions["KH"]
    assert (kh.discipline, kh.base_rate) == (0.5, 0.01)


def test_the_readme_lever_example_loads_as_it_says(tree):  # noqa: F811
    """README "Factions as policy levers": KH stands down, AAH and Nujaba changed at the start."""
    from sim.model import state as S
    from sim.model.world import J_COMPLIANCE, J_KIND, J_STRIKE, J_SUBJECT, compile_world
    from sim.vocab import I_FACTION_POLICY
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    head = "### Factions as policy levers"
    block = readme[readme.index(head) :].split("```yaml\n", 1)[1].split("```", 1)[0]
    p = tree / "scenarios" / "readme_levers.yaml"
    p.write_text(block)
    loaded = load_scenario(p)
    assert loaded.warnings == ()
    world = compile_world(loaded.scenario)
    rows = world.injects[world.injects[:, J_KIND] == I_FACTION_POLICY]
    got = {
        (world.faction_names[int(r[J_SUBJECT])], int(r[J_STRIKE]), r[J_COMPLIANCE]) for r in rows
    }  # (faction, state column, value)
    assert got == {
        ("KH", S.FS_BASE_RATE, 0.0),
        ("AAH", S.FS_DISCIPLINE, 0.9),
        ("Nujaba", S.FS_STOCK_ROCKET, 0.0),
    }
    assert (rows[:, 0] == (loaded.scenario.policy.start - loaded.scenario.start).days).all()
