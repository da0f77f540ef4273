"""Scenario validation: every error names the file, the line and the field."""

import copy
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from tests.conftest import SCENARIOS, SMALL, build

BASE_TEXT = yaml.safe_dump(SMALL, sort_keys=False)


def error_of(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "bad.yaml")
    return exc.value


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_small_scenario_is_valid_and_frozen():
    sc = build()
    assert isinstance(sc, Scenario) and sc.n_days == 366
    with pytest.raises(ValidationError):
        sc.name = "x"  # frozen


def test_every_repository_scenario_validates():
    for path in SCENARIOS.glob("*.yaml"):
        assert load_scenario(path).scenario.n_days > 0


def test_unknown_key_names_line_and_field():
    text = BASE_TEXT.replace("  base_rate: 0.08\n", "  base_rate: 0.08\n  bse_rate: 1\n")
    e = error_of(text)
    assert e.file == "bad.yaml" and e.line == line_of(text, "bse_rate")
    assert e.field == "factions[0].bse_rate" and "unknown" in e.expected


def test_duplicate_key_names_both_lines():
    text = BASE_TEXT.replace("seed: 11\n", "seed: 11\nseed: 12\n")
    e = error_of(text)
    assert e.line == line_of(text, "seed: 12") and e.field == "seed"
    assert f"line {line_of(text, 'seed: 11')}" in e.found


def test_impossible_date_names_its_line():
    text = BASE_TEXT.replace("end: '2020-12-31'", "end: 2020-02-30")
    e = error_of(text)
    assert e.line == line_of(text, "2020-02-30") and "impossible date" in str(e)


def test_end_before_start():
    e = error_of(BASE_TEXT.replace("end: '2020-12-31'", "end: '2019-12-31'"))
    assert e.field == "end" and "on or after start" in e.expected


def test_reference_to_missing_faction_in_inject():
    text = BASE_TEXT.replace("faction: B", "faction: Nobody")
    e = error_of(text)
    assert e.line == line_of(text, "faction: Nobody")
    assert e.field == "injects[4].faction" and "'Nobody'" in e.found


def test_reference_to_missing_faction_in_agency_control():
    text = BASE_TEXT.replace("control:\n      B: 0.5", "control:\n      Q: 0.5")
    e = error_of(text)
    assert e.field == "iran.agencies[0].control.Q" and e.line == line_of(text, "Q: 0.5")


def test_inject_outside_horizon():
    text = BASE_TEXT.replace("date: '2020-02-01'", "date: '2021-02-01'")
    e = error_of(text)
    assert e.field == "injects[0].date" and e.line == line_of(text, "2021-02-01")


def test_out_of_range_value_names_bound_and_value():
    text = BASE_TEXT.replace("front_share: 0.4", "front_share: 1.4")
    e = error_of(text)
    assert e.field == "factions[0].front_share" and "1" in e.expected and "1.4" in e.found
    assert e.line == line_of(text, "front_share: 1.4")


@pytest.mark.parametrize("bad", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_rejected(bad):
    e = error_of(BASE_TEXT.replace("base_rate: 0.05", f"base_rate: {bad}"))
    assert e.field == "factions[1].base_rate"


def test_wrong_type():
    e = error_of(BASE_TEXT.replace("seed: 11", "seed: eleven"))
    assert e.field == "seed" and "'eleven'" in e.found


def test_duplicate_faction_names():
    doc = copy.deepcopy(SMALL)
    doc["factions"][1]["name"] = "A"
    e = error_of(yaml.safe_dump(doc, sort_keys=False))
    assert e.field == "factions[1].name"


def test_malformed_yaml_and_non_mapping_documents():
    assert "well-formed" in error_of("name: [unclosed\n").expected
    assert error_of("").field == "(document)"
    assert error_of("- a\n- b\n").field == "(document)"


def test_policy_overrides_are_validated():
    e = error_of(BASE_TEXT + "policy:\n  start: '2020-06-01'\n  us:\n    doctrine: nuke\n")
    assert e.field == "policy.us.doctrine" and "leadership" in e.expected
    e = error_of(BASE_TEXT + "policy:\n  start: '2020-06-01'\n  us:\n    doctrin: none\n")
    assert e.field == "policy.us.doctrin"
    e = error_of(BASE_TEXT + "policy:\n  start: '2022-06-01'\n")
    assert e.field == "policy.start"


def test_extends_and_calibration_overlay(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE_TEXT)
    (tmp_path / "fit.yaml").write_text(
        "militia:\n  noise: 0.25\nfactions:\n  B:\n    base_rate: 0.5\nfit: {seed: 1}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\ncalibration: fit.yaml\nname: child\nus:\n  doctrine: leadership\n"
    )
    loaded = load_scenario(tmp_path / "child.yaml")
    sc = loaded.scenario
    assert sc.name == "child" and sc.us.doctrine == "leadership"
    assert sc.militia.noise == 0.25 and sc.factions[1].base_rate == 0.5
    assert sc.factions[0].base_rate == 0.08 and len(sc.injects) == len(SMALL["injects"])
    assert len(loaded.files) == 3
    # an error in the base file names the base file and its line
    (tmp_path / "base.yaml").write_text(BASE_TEXT.replace("seed: 11", "seed: -4"))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "child.yaml")
    assert exc.value.file.endswith("base.yaml") and exc.value.line == line_of(BASE_TEXT, "seed:")


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "nope.yaml")
    assert "readable" in exc.value.expected
    (tmp_path / "bin.yaml").write_bytes(b"\x00\x01\xff\xfe")
    with pytest.raises(ScenarioError):
        load_scenario(tmp_path / "bin.yaml")


def test_hash_changes_with_included_files(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE_TEXT)
    (tmp_path / "child.yaml").write_text("extends: base.yaml\n")
    h1 = load_scenario(tmp_path / "child.yaml").sha256
    (tmp_path / "base.yaml").write_text(BASE_TEXT.replace("seed: 11", "seed: 12"))
    assert load_scenario(tmp_path / "child.yaml").sha256 != h1


@settings(max_examples=60, deadline=None)
@given(
    field=st.sampled_from(["base_rate", "discipline", "front_share", "truce_compliance"]),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
        st.integers(-(10**20), 10**20),
    ),
)
def test_any_faction_value_is_accepted_or_rejected_cleanly(field, value):
    doc = copy.deepcopy(SMALL)
    doc["factions"][0][field] = value
    try:
        sc = parse_scenario(yaml.safe_dump(doc, sort_keys=False), "f.yaml")
    except ScenarioError as e:
        assert e.field == f"factions[0].{field}" and e.line is not None
    else:
        v = getattr(sc.factions[0], field)
        assert math.isfinite(v) and v >= 0


def test_front_share_without_named_fronts_is_an_error():
    doc = copy.deepcopy(SMALL)
    doc["factions"][1]["front_share"] = 0.3
    text = yaml.safe_dump(doc, sort_keys=False)
    e = error_of(text)
    assert e.field == "factions[1]" and "fronts" in e.expected


def test_policy_injects_must_follow_the_policy_start_and_name_real_factions():
    ok = build(
        {
            "policy": {
                "start": "2020-06-01",
                "injects": [{"date": "2020-06-01", "kind": "truce", "days": 90}],
            }
        }
    )
    assert len(ok.policy.injects) == 1
    e = error_of(
        BASE_TEXT + "policy:\n  start: '2020-06-01'\n  injects:\n"
        "    - {date: 2020-05-01, kind: truce}\n"
    )
    assert e.field == "policy.injects[0].date" and "policy start" in e.expected
    e = error_of(
        BASE_TEXT + "policy:\n  start: '2020-06-01'\n  injects:\n"
        "    - {date: 2020-07-01, kind: arrest, faction: Z}\n"
    )
    assert e.field == "policy.injects[0].faction"
