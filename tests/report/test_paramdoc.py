"""The parameter table generator, and the table in docs/ODD.md being exactly what it renders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, field_validator

from sim.report import paramdoc as P
from sim.scenario import Scenario
from sim.scenario.schema import IranParams, MilitiaParams, PMParams, TruceParams, USParams

ROOT = Path(__file__).resolve().parents[2]
ODD_PATH = ROOT / "docs" / "ODD.md"


# --- the document -------------------------------------------------------------------------------


def test_odd_holds_exactly_the_table_the_schema_renders():
    block = P.extract_block(ODD_PATH.read_text(encoding="utf-8"))
    assert block is not None, "docs/ODD.md lacks the generated-table markers"
    assert block == P.render_parameter_table(), (
        "docs/ODD.md's parameter table is stale: run "
        "`uv run python -m sim.report.paramdoc docs/ODD.md`"
    )


def test_table_has_one_row_per_leaf_of_every_section():
    paths = [r.path.strip("`") for r in P.parameter_rows(Scenario)]
    assert len(paths) == len(set(paths))
    for prefix, model in (
        ("us", USParams),
        ("pm", PMParams),
        ("truce", TruceParams),
        ("militia", MilitiaParams),
        ("iran", IranParams),
    ):
        for name in model.model_fields:
            if name in ("lethality", "agencies"):
                continue
            assert f"{prefix}.{name}" in paths
    assert "militia.lethality.small_arms" in paths
    assert "iran.agencies[].hawkishness" in paths
    assert "factions[].targets.activist" in paths
    assert "injects[].compliance" in paths


@pytest.mark.parametrize(
    "prefix,model",
    [("us", USParams), ("pm", PMParams), ("truce", TruceParams), ("iran", IranParams)],
)
def test_section_defaults_are_the_instances_defaults(prefix, model):
    rows = {r.path.strip("`"): r for r in P.parameter_rows(Scenario)}
    inst = model()
    for name, field in model.model_fields.items():
        if name == "agencies":
            continue
        row = rows[f"{prefix}.{name}"]
        assert row.default == P.format_value(getattr(inst, name))
        extra = field.json_schema_extra or {}
        if "units" in extra:
            assert row.units == extra["units"]
            assert row.source == extra["source"]


def test_nested_defaults_come_from_the_parent_factory():
    rows = {r.path.strip("`"): r for r in P.parameter_rows(Scenario)}
    from sim.scenario.schema import Faction

    stocks = Faction.model_fields["stocks"].get_default(call_default_factory=True)
    assert rows["factions[].stocks.rocket"].default == P.format_value(stocks.rocket)
    # units and source written on the parent field reach the leaves
    assert rows["factions[].stocks.rocket"].units == "loads"
    assert rows["factions[].resupply.drone"].units == "loads/day"
    # a validator on the parent (lethality <= 1) is flagged on its leaves
    assert "validator" in rows["militia.lethality.rocket"].range


# --- known answers on a toy schema --------------------------------------------------------------


class _Inner(BaseModel):
    a: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="alpha",
        json_schema_extra={"units": "share", "source": "S9"},
    )
    b: int = Field(3, ge=1)


class _Toy(BaseModel):
    mode: Literal["p", "q"] = "p"
    inner: _Inner = Field(
        default_factory=lambda: _Inner(a=0.25), description="things (units: loads; source: T1)"
    )
    items: tuple[_Inner, ...] = ()
    when: dt.date | None = None
    name: str = Field(min_length=1, max_length=5)
    tags: tuple[str, ...] = ("x", "y")

    @field_validator("tags")
    @classmethod
    def _v(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return v


def test_known_rows_of_a_toy_schema():
    rows = [r.cells() for r in P.parameter_rows(_Toy)]
    assert rows == [
        ("`mode`", "`p`", "one of `p`, `q`", "—", "—", "—"),
        ("`inner.a`", "`0.25`", "[0, 1]", "share", "alpha", "S9"),
        ("`inner.b`", "`3`", "integer, ≥ 1", "loads", "things (b)", "T1"),
        ("`items[].a`", "`0.5`", "[0, 1]", "share", "alpha", "S9"),
        ("`items[].b`", "`3`", "integer, ≥ 1", "—", "—", "—"),
        ("`when`", "`null`", "date or `null`", "—", "—", "—"),
        ("`name`", "required", "text, length 1–5", "—", "—", "—"),
        ("`tags`", "`[x, y]`", "list of text; further checked by a validator", "—", "—", "—"),
    ]


def test_render_table_layout():
    text = P.render_table([P.ParamRow("`a`", "`1`", "[0, 1]", "u", "x | y", "s")])
    assert text == (
        "| YAML path | Default | Range | Units | Meaning | Source |\n"
        "|---|---|---|---|---|---|\n"
        "| `a` | `1` | [0, 1] | u | x \\| y | s |\n"
    )


@pytest.mark.parametrize(
    "value,text",
    [
        (None, "`null`"),
        (True, "`true`"),
        (False, "`false`"),
        (0.01, "`0.01`"),
        (45.0, "`45`"),
        (3, "`3`"),
        (dt.date(2021, 4, 14), "`2021-04-14`"),
        ((), "`[]`"),
        ({}, "`{}`"),
        ("", '`""`'),
        ("proportional", "`proportional`"),
        ({"KH": 0.5}, "`{KH: 0.5}`"),
    ],
)
def test_format_value(value, text):
    assert P.format_value(value) == text


# --- the block in a document ----------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<>"), max_size=200
)


@settings(max_examples=50, deadline=None)
@given(_text, _text, _text, _text)
def test_replace_then_extract_round_trips(before, old, after, table):
    doc = f"{before}\n{P.BEGIN}\n{old}\n{P.END}\n{after}"
    new = P.replace_block(doc, table)
    assert P.extract_block(new) == table.strip("\n") + "\n"
    assert new.startswith(before) and new.endswith(after)
    assert P.replace_block(new, table) == new  # idempotent


def test_missing_markers_are_an_error():
    assert P.extract_block("no markers here") is None
    with pytest.raises(ValueError, match="markers"):
        P.replace_block("no markers here", "| x |\n")
    with pytest.raises(ValueError):
        P.replace_block(f"{P.END}\n{P.BEGIN}", "| x |\n")


def test_main_rewrites_a_file(tmp_path, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text(f"# T\n{P.BEGIN}\nstale\n{P.END}\ntail\n", encoding="utf-8")
    assert P.main([str(doc)]) == 0
    assert P.extract_block(doc.read_text(encoding="utf-8")) == P.render_parameter_table()
    assert P.main([str(doc)]) == 0
    assert "already current" in capsys.readouterr().out
    bad = tmp_path / "bad.md"
    bad.write_text("no markers", encoding="utf-8")
    assert P.main([str(bad)]) == 2
    assert bad.read_text(encoding="utf-8") == "no markers"  # nothing half-written
    assert P.main([]) == 2
    assert P.main([str(tmp_path / "missing.md")]) == 2
