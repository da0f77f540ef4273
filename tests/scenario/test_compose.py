"""Scenario composition: rosters edited by name in ``extends:`` children; calibration after."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sim.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT

_FITTED = yaml.safe_load((ROOT / "calibration" / "fitted.yaml").read_text())
FITTED_KH_RATE = _FITTED["factions"]["KH"]["base_rate"]  # read, not copied: a recalibration
FITTED_CONVOY = _FITTED["factions"]["KH"]["targets"]["convoy"]  # must not break these tests
RATE_SCALE = _FITTED["fit"]["parameters"]["scale.factions.base_rate"]["median"]
CONVOY_SCALE = _FITTED["fit"]["parameters"]["scale.factions.targets.convoy"]["median"]
FITTED_AAH_RATE = _FITTED["factions"]["AAH"]["base_rate"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of scenarios/ and calibration/fitted.yaml a child can extend."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    (tmp_path / "calibration").mkdir()
    shutil.copy(ROOT / "calibration" / "fitted.yaml", tmp_path / "calibration" / "fitted.yaml")
    return tmp_path


def child(tree: Path, body: str, name: str = "child.yaml") -> Path:
    """Write a child of historical.yaml and return its path."""
    p = tree / "scenarios" / name
    p.write_text("extends: historical.yaml\nname: child\n" + body)
    return p


def faction(loaded, name: str):
    """Return the faction called ``name``."""
    return next(f for f in loaded.scenario.factions if f.name == name)


def test_removing_a_faction_by_name_keeps_the_calibration(tree):
    """The trap of issue 16: dropping Badr must not lose the calibrated rates of the others."""
    loaded = load_scenario(child(tree, "factions: {Badr: null}\n"))
    names = [f.name for f in loaded.scenario.factions]
    assert names == ["KH", "AAH", "KSS", "Nujaba"]
    kh = faction(loaded, "KH")
    assert kh.base_rate == FITTED_KH_RATE and kh.targets.convoy == FITTED_CONVOY
    assert kh.discipline == 0.7  # the parent's uncalibrated fields are kept
    for agency in loaded.scenario.iran.agencies:
        assert "Badr" not in agency.control
    assert loaded.warnings == ()


def test_replacing_the_roster_with_a_list_is_calibrated_too(tree):
    """The old idiom (copy the list without Badr) now gets the calibration applied to it."""
    parent = (tree / "scenarios" / "historical.yaml").read_text()
    block = parent[parent.index("factions:") : parent.index("  - name: Badr")]
    agencies = "iran:\n  agencies:\n    - {name: IRGC-QF, control: {KH: 0.7}}\n"
    loaded = load_scenario(child(tree, block + agencies))
    kh = faction(loaded, "KH")
    assert kh.base_rate == FITTED_KH_RATE and kh.targets.convoy == FITTED_CONVOY
    assert [f.name for f in loaded.scenario.factions] == ["KH", "AAH", "KSS", "Nujaba"]


def test_a_child_edit_by_name_wins_over_the_calibration(tree):
    """A calibrated field set explicitly by a child keeps the child's value; others stay fitted."""
    loaded = load_scenario(child(tree, "factions:\n  KH: {base_rate: 0.05, discipline: 0.9}\n"))
    kh = faction(loaded, "KH")
    assert (kh.base_rate, kh.discipline, kh.targets.convoy) == (0.05, 0.9, FITTED_CONVOY)
    assert faction(loaded, "AAH").base_rate == FITTED_AAH_RATE


def test_a_new_faction_gets_the_fit_multipliers_and_a_warning(tree):
    """A faction the calibration does not name: base_rate x rate_scale, convoy x convoy_scale."""
    body = "factions:\n  Saraya: {base_rate: 0.01, targets: {convoy: 1.0}}\n"
    loaded = load_scenario(child(tree, body))
    new = faction(loaded, "Saraya")
    assert new.base_rate == pytest.approx(0.01 * RATE_SCALE)
    assert new.targets.convoy == pytest.approx(1.0 * CONVOY_SCALE)
    assert len(loaded.warnings) == 1
    assert "'Saraya' is not in" in loaded.warnings[0] and "child.yaml:4" in loaded.warnings[0]


def test_a_child_may_name_the_calibration_itself(tree):
    """Adding `calibration:` to a child that removed Badr failed because fitted.yaml names Badr."""
    body = "calibration: ../calibration/fitted.yaml\nfactions: {Badr: null}\n"
    loaded = load_scenario(child(tree, body))
    assert faction(loaded, "KH").base_rate == FITTED_KH_RATE
    assert "Badr" not in [f.name for f in loaded.scenario.factions]


def test_removing_a_faction_removes_its_injects_with_a_warning(tree):
    """Injects naming a removed faction go too, and the warning lists them."""
    loaded = load_scenario(child(tree, "factions: {AAH: null}\n"))
    assert all(i.faction != "AAH" for i in loaded.scenario.injects)
    assert len(loaded.warnings) == 1 and "2020-12-25 arrest AAH" in loaded.warnings[0]


def test_injects_and_agencies_are_edited_by_name(tree):
    """Injects by 'date kind faction' (or their name:), agencies by name."""
    body = (
        "injects:\n"
        "  2020-06-25 arrest KH: null\n"
        "  2020-10-10 truce: {days: 20}\n"
        "  pm drone attack: {date: 2021-11-07, kind: election}\n"
        "iran:\n  agencies: {MOIS: null, SL Office: {hawkishness: 2.0}}\n"
    )
    sc = load_scenario(child(tree, body)).scenario
    keys = [(str(i.date), i.kind, i.faction) for i in sc.injects]
    assert ("2020-06-25", "arrest", "KH") not in keys
    truce = next(i for i in sc.injects if str(i.date) == "2020-10-10")
    assert truce.days == 20
    assert sc.injects[-1].name == "pm drone attack"
    assert [a.name for a in sc.iran.agencies] == ["IRGC-QF", "Beit Rahbari", "SL Office"]
    assert sc.iran.agencies[-1].hawkishness == 2.0


def test_an_error_in_a_name_keyed_edit_names_the_child_file_and_line(tree):
    """A bad value set by name is blamed on the child's line."""
    p = child(tree, "factions:\n  KH:\n    discipline: 3\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    assert Path(info.value.file) == p and info.value.line == 5
    assert info.value.field == "factions[0].discipline"


def test_the_readme_roster_idiom_loads_as_it_says(tree):
    """The README's roster-edit example: Badr gone, KH edited and calibrated, Saraya scaled."""
    readme = (ROOT / "README.md").read_text()
    head = "### Editing the roster in a child scenario"
    block = readme[readme.index(head) :].split("```yaml\n", 1)[1].split("```", 1)[0]
    p = tree / "scenarios" / "readme.yaml"
    p.write_text(block)
    loaded = load_scenario(p)
    sc = loaded.scenario
    assert [f.name for f in sc.factions] == ["KH", "AAH", "KSS", "Nujaba", "Saraya"]
    kh = faction(loaded, "KH")
    assert (kh.discipline, kh.base_rate) == (0.9, FITTED_KH_RATE)
    assert faction(loaded, "Saraya").base_rate == pytest.approx(0.01 * RATE_SCALE)
    assert next(a for a in sc.iran.agencies if a.name == "MOIS").hawkishness == -2.0
    assert all(str(i.date) != "2020-10-10" for i in sc.injects)
    assert sc.policy is not None and sc.policy.start.isoformat() == "2020-06-01"
    assert len(loaded.warnings) == 1 and "Saraya" in loaded.warnings[0]
