"""Fuzz the scenario loader with documents derived from scenarios/historical.yaml.

Every invalid document must raise ``ScenarioError`` naming the file, the line (where there is
one) and the field, on one line; every valid mutation must load. Nothing else may escape.

Where a mutation replaces one value or key of the historical file, the expected line and field
come from PyYAML's composer run on the mutated text (an oracle independent of ``sim.scenario``'s
own line bookkeeping). Run with ``-s`` to see how many inputs of each category were tried.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import math
import random
import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
HIST_TEXT = (ROOT / "scenarios" / "historical.yaml").read_text(encoding="utf-8")
TRIED: collections.Counter = collections.Counter()
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\nscenario fuzz inputs by category:", dict(sorted(TRIED.items())))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A scenario tree: historical.yaml and a calibration overlay that overrides nothing.

    (The project's own calibration/fitted.yaml changes with every fit; a value mutated in the
    scenario must not be hidden by a fitted one.)
    """
    root = tmp_path_factory.mktemp("tree")
    (root / "scenarios").mkdir()
    (root / "calibration").mkdir()
    (root / "calibration" / "fitted.yaml").write_text("fit: {status: fuzz placeholder}\n")
    (root / "scenarios" / "historical.yaml").write_text(HIST_TEXT, encoding="utf-8")
    return root


def case_path(tree: Path) -> str:
    return str(tree / "scenarios" / "case.yaml")


# --- the oracle: every value and key of the historical file, with its span and field path ------


class Site(typing.NamedTuple):
    path: tuple  # field path as the loader names it
    node: yaml.Node  # the value node
    key: yaml.Node | None  # its key node (None for list items)
    flow: bool  # inside a flow collection ({...} or [...])


def fmt(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def sites(text: str) -> list[Site]:
    found: list[Site] = []

    def walk(node, path, key, flow):
        found.append(Site(path, node, key, flow))
        inner = flow or bool(getattr(node, "flow_style", False))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, path + (k.value,), k, inner)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,), None, inner)

    walk(yaml.compose(text), (), None, False)
    return found


SITES = sites(HIST_TEXT)
SCALARS = [s for s in SITES if isinstance(s.node, yaml.ScalarNode) and s.path]


def kind_of(site: Site) -> str:
    """Classify a scalar leaf of historical.yaml by what it holds."""
    name = site.path[-1]
    if site.path[:1] == ("fit",) or name in ("source", "note", "description", "label"):
        return "text"
    if name in ("extends", "calibration"):
        return "file"
    if site.node.tag.endswith(":timestamp"):
        return "date"
    if site.node.tag.endswith((":int", ":float")):
        return "number"
    if site.node.tag.endswith(":null"):
        return "null"
    return "word"  # names, kinds, doctrines, fronts


def replace_span(text: str, node: yaml.Node, new: str) -> str:
    return text[: node.start_mark.index] + new + text[node.end_mark.index :]


def model_field(path: tuple):
    """Return the pydantic FieldInfo of a field path of Scenario (None inside free dicts)."""
    model, info = Scenario, None
    for p in path:
        if isinstance(p, int):
            continue
        if model is None or not hasattr(model, "model_fields") or p not in model.model_fields:
            return None
        info = model.model_fields[p]
        ann = info.annotation
        args = [a for a in typing.get_args(ann) if a is not type(None) and a is not Ellipsis]
        model = next((a for a in [ann, *args] if hasattr(a, "model_fields")), None)
    return info


def bounds(path: tuple) -> tuple[float, float]:
    info = model_field(path)
    lo, hi = -math.inf, math.inf
    for m in getattr(info, "metadata", []):
        lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
    if path[-2:-1] == ("control",):
        lo, hi = 0.0, 1.0
    return lo, hi


def printable(text: str) -> str:
    """Text as an error message shows it (control and unassigned characters escaped)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def check_error(exc: ScenarioError, file: str, n_lines: int) -> None:
    """The shape every error must have: file, plausible line, field, one line of text."""
    msg = str(exc)
    assert exc.file.endswith((".yaml", ".yml")) or exc.file == file, msg
    assert exc.line is None or 1 <= exc.line <= n_lines + 1, msg
    assert exc.field, msg
    assert "\n" not in msg and "\r" not in msg, msg
    assert f"field '{printable(exc.field)}'" in msg and printable(exc.file) in msg, msg
    if exc.line is not None:
        assert f"{exc.file}:{exc.line}:" in msg, msg


def expect_error(text: str, file: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, file)
    check_error(info.value, file, text.count("\n") + 1)
    return info.value


def all_finite(obj) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(all_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return all(all_finite(v) for v in obj)
    return True


def load_or_error(text: str, file: str) -> Scenario | ScenarioError:
    try:
        sc = parse_scenario(text, file)
    except ScenarioError as exc:
        check_error(exc, file, text.count("\n") + 1)
        return exc
    assert all_finite(sc.model_dump()), "a NaN or infinity got through"
    return sc


# --- the base document ---------------------------------------------------------------------


def test_historical_loads_and_oracle_sees_every_field(tree):
    sc = parse_scenario(HIST_TEXT, case_path(tree))
    assert sc.name == "historical" and len(sc.factions) == 5
    kinds = collections.Counter(kind_of(s) for s in SCALARS)
    assert kinds["number"] > 50 and kinds["date"] > 15 and kinds["word"] > 20


# --- one value replaced by an invalid one: error at that value's line, naming that field -------

BAD_NUMBERS = {
    "nan": ".nan",
    "inf": ".inf",
    "-inf": "-.inf",
    "huge float": "1.0e+300",
    "huge negative": "-1.0e+300",
    "huge int": "9" * 400,
    "text": "abc",
    "list": "[1, 2]",
    "mapping": "{x: 1}",
    "bool": "yes",
    "date": "2020-01-01",
    "null": "null",
}
BAD_DATES = {
    "impossible day": "2020-02-30",
    "impossible month": "2020-13-01",
    "number": "0",
    "bool": "no",
    "list": "[2020-01-01]",
    "text": "soon",
    "datetime": "2020-01-01 10:00:00",
    "far future": "2999-01-01",
    "far past": "1900-01-01",
}
BAD_WORDS = {"list": "[a, b]", "mapping": "{a: 1}", "number": "12", "dangling": "NOPE_9"}
OPTIONAL = {"compliance", "faction", "drones_from"}


def bad_values(site: Site) -> dict[str, str]:
    kind = kind_of(site)
    name = site.path[-1]
    if kind == "number":
        return {k: v for k, v in BAD_NUMBERS.items() if not (k == "null" and name in OPTIONAL)}
    if kind == "date":
        out = dict(BAD_DATES)
        if name == "drones_from":  # any real date is a valid drones_from but the far future
            out = {k: v for k, v in out.items() if k not in ("far past", "null")}
        return out
    if kind == "word":
        out = dict(BAD_WORDS)
        if site.path[:1] == ("factions",) and "fronts" in site.path:
            out.pop("dangling")  # a front may be renamed freely
        if site.path[-1] == "name" and site.path[:1] in (("factions",), ("name",)):
            out.pop("dangling")  # any word is a name (renamed factions are tested below)
        return out
    return {}


def expected_site(site: Site, category: str) -> Site:
    """The field an invalid value at ``site`` must be reported at.

    A start in the far past or future is a fine date but breaks the horizon, which is reported
    at ``end`` (end before start, or a horizon over 50 years).
    """
    if site.path == ("start",) and category in ("far past", "far future"):
        return next(s for s in SITES if s.path == ("end",))
    return site


MUTABLE = [s for s in SCALARS if bad_values(s)]
BLOCK_SCALAR = ("|", ">")


def check_bad_value(tree: Path, site: Site, category: str) -> None:
    value = bad_values(site)[category]
    TRIED[f"bad value: {kind_of(site)} <- {category}"] += 1
    text = replace_span(HIST_TEXT, site.node, value)
    e = expect_error(text, case_path(tree))
    where = expected_site(site, category)
    assert e.file == case_path(tree)
    assert e.line == where.node.start_mark.line + 1, (site.path, value, str(e))
    assert e.field == fmt(where.path), (site.path, value, str(e))


CATEGORIES = sorted({(kind_of(s), c) for s in MUTABLE for c in bad_values(s)})
SITES_PER_CATEGORY = 8


@pytest.mark.parametrize("kind, category", CATEGORIES)
def test_every_category_of_bad_value_at_spread_out_fields(tree, kind, category):
    """Each category at up to 8 fields spread through the file (first, last, and between)."""
    pool = [s for s in MUTABLE if kind_of(s) == kind and category in bad_values(s)]
    step = max(1, len(pool) // SITES_PER_CATEGORY)
    for site in (pool[::step] + pool[-1:])[: SITES_PER_CATEGORY + 1]:
        check_bad_value(tree, site, category)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_one_bad_value_anywhere_names_its_line_and_field(tree, data):
    site = data.draw(st.sampled_from(MUTABLE), label="site")
    check_bad_value(tree, site, data.draw(st.sampled_from(sorted(bad_values(site)))))


@pytest.mark.parametrize(
    "needle, value, field",
    [
        ("end: 2021-12-31", "2019-01-01", "end"),  # end before start
        ("end: 2021-12-31", "2080-01-01", "end"),  # horizon over 50 years
        ("{date: 2020-05-07", "2030-05-07", "injects[4].date"),  # inject after the end
        ("{date: 2019-12-29", "2019-01-01", "injects[0].date"),  # inject before the start
    ],
)
def test_dates_out_of_order_or_outside_the_horizon(tree, needle, value, field):
    TRIED["dates out of order / outside horizon"] += 1
    i = HIST_TEXT.index(needle)
    start = HIST_TEXT.index("20", i)
    text = HIST_TEXT[:start] + value + HIST_TEXT[start + 10 :]
    e = expect_error(text, case_path(tree))
    line = HIST_TEXT.count("\n", 0, i) + 1
    assert (e.line, e.field) == (line, field), str(e)


def test_renaming_a_faction_leaves_its_references_dangling(tree):
    for i, name in enumerate(["KH", "AAH", "KSS", "Nujaba", "Badr"]):
        TRIED["dangling reference (faction renamed)"] += 1
        site = next(s for s in SCALARS if s.path == ("factions", i, "name"))
        e = expect_error(replace_span(HIST_TEXT, site.node, "Renamed"), case_path(tree))
        # the first reference to the old name, in file order (control blocks precede injects)
        refs = [
            s
            for s in SITES
            if (len(s.path) > 1 and s.path[-2] == "control" and s.path[-1] == name)
            or (s.path[-1:] == ("faction",) and getattr(s.node, "value", None) == name)
        ]
        first = min(refs, key=lambda s: s.node.start_mark.index)
        assert (e.line, e.field) == (first.node.start_mark.line + 1, fmt(first.path)), str(e)
        assert repr(name) in e.found and "Renamed" in e.expected, str(e)


# --- keys: unknown (a typo) and duplicated ---------------------------------------------------

KEYED = [s for s in SITES if s.key is not None]


@FUZZ
@given(site=st.sampled_from(KEYED))
def test_unknown_key_names_its_line_and_field(tree, site):
    TRIED["unknown key (typo)"] += 1
    new = site.key.value + "_x"
    text = HIST_TEXT[: site.key.start_mark.index] + new + HIST_TEXT[site.key.end_mark.index :]
    e = expect_error(text, case_path(tree))
    assert e.line == site.key.start_mark.line + 1, str(e)
    # a renamed control key is a dangling faction; any other renamed key is unknown
    assert e.field.endswith(new), str(e)
    assert "unknown" in e.expected or "roster" in e.expected or new in e.found, str(e)


@FUZZ
@given(
    site=st.sampled_from(
        [
            s
            for s in KEYED
            if isinstance(s.node, yaml.ScalarNode)
            and s.node.style not in BLOCK_SCALAR
            and s.node.start_mark.line == s.node.end_mark.line
        ]
    )
)
def test_duplicate_key_names_the_second_line(tree, site):
    TRIED["duplicate key"] += 1
    k, v = site.key, site.node
    entry = HIST_TEXT[k.start_mark.index : v.end_mark.index]
    if site.flow:
        text = HIST_TEXT[: k.start_mark.index] + entry + ", " + HIST_TEXT[k.start_mark.index :]
        line = k.start_mark.line + 1
    else:
        eol = HIST_TEXT.index("\n", v.end_mark.index)
        indent = " " * k.start_mark.column
        text = HIST_TEXT[:eol] + "\n" + indent + entry + HIST_TEXT[eol:]
        line = v.end_mark.line + 2
    e = expect_error(text, case_path(tree))
    assert (e.line, e.field) == (line, fmt(site.path)), str(e)
    assert "duplicate" in e.found


# --- random junk anywhere in the document -----------------------------------------------------

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
BASE_DATA = yaml.safe_load(HIST_TEXT)
DATA_PATHS = [s.path for s in SITES if s.path]


def set_path(doc, path, value):
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


@FUZZ
@given(path=st.sampled_from(DATA_PATHS), value=junk)
def test_junk_at_any_field_loads_or_names_file_line_and_field(tree, path, value):
    TRIED["junk value at a random field"] += 1
    doc = yaml.safe_load(HIST_TEXT)
    set_path(doc, path, value)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    out = load_or_error(text, case_path(tree))
    if isinstance(out, ScenarioError) and out.field == fmt(path):
        where = {s.path: s for s in sites(text)}.get(path)
        if where is not None:
            lines = {where.node.start_mark.line + 1}
            if where.key is not None:
                lines.add(where.key.start_mark.line + 1)
            assert out.line in lines, str(out)


@FUZZ
@given(
    path=st.sampled_from([p for p in DATA_PATHS if isinstance(p[-1], str)]),
    key=st.text(min_size=1, max_size=10),
    value=junk,
)
def test_an_added_key_is_an_error_unless_it_is_a_known_field(tree, path, key, value):
    TRIED["added key with junk value"] += 1
    doc = yaml.safe_load(HIST_TEXT)
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    if not isinstance(parent, dict) or key in parent:
        return
    parent[key] = value
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    out = load_or_error(text, case_path(tree))
    known = model_field(path[:-1] + (key,)) is not None or "control" in path
    if not known and key not in ("extends", "calibration"):  # `extends: null` means none
        assert isinstance(out, ScenarioError), key


# --- valid mutations load --------------------------------------------------------------------

NUMBERS = [s for s in SCALARS if kind_of(s) == "number"]


@FUZZ
@given(site=st.sampled_from(NUMBERS), u=st.floats(0.0, 1.0))
def test_any_in_range_number_loads(tree, site, u):
    TRIED["valid: number within its bounds"] += 1
    lo, hi = bounds(site.path)
    lo, hi = max(lo, -1e6), min(hi, 1e6)
    is_int = site.node.tag.endswith(":int")
    x = int(lo + u * (hi - lo)) if is_int else lo + u * (hi - lo)
    text = replace_span(HIST_TEXT, site.node, str(x) if is_int else f"{x:.6f}")
    sc = parse_scenario(text, case_path(tree))
    got = sc
    for p in site.path:
        got = (
            got[p] if isinstance(p, int) else (got[p] if isinstance(got, dict) else getattr(got, p))
        )
    assert math.isclose(float(got), float(f"{x:.6f}") if not is_int else x, abs_tol=1e-6)


@FUZZ
@given(seed=st.integers(0, 2**32 - 1))
def test_reordered_and_restyled_documents_load_to_the_same_scenario(tree, seed):
    TRIED["valid: reordered / restyled"] += 1
    rnd = random.Random(seed)
    doc = yaml.safe_load(HIST_TEXT)
    keys = list(doc)
    rnd.shuffle(keys)
    doc = {k: doc[k] for k in keys}
    text = yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=rnd.choice([None, False, True]), width=10**6
    )
    assert parse_scenario(text, case_path(tree)) == reference(case_path(tree))


@functools.cache
def reference(file: str) -> Scenario:
    return parse_scenario(HIST_TEXT, file)


# --- malformed text, binary garbage, empty files ---------------------------------------------


def write_and_load(tree: Path, raw: bytes) -> Scenario | ScenarioError:
    path = tree / "scenarios" / "raw.yaml"
    path.write_bytes(raw)
    try:
        return load_scenario(path).scenario
    except ScenarioError as exc:
        check_error(exc, str(path), raw.count(b"\n") + 1)
        assert exc.file == str(path) or exc.file.endswith("fitted.yaml"), str(exc)
        return exc


RAW = HIST_TEXT.encode()


@FUZZ
@given(cut=st.integers(0, len(RAW)))
def test_truncated_files(tree, cut):
    TRIED["truncated file"] += 1
    write_and_load(tree, RAW[:cut])


@FUZZ
@given(at=st.integers(0, len(RAW)), n=st.integers(1, 40), blob=st.binary(min_size=1, max_size=8))
def test_bytes_deleted_or_inserted(tree, at, n, blob):
    TRIED["bytes deleted + binary inserted"] += 1
    write_and_load(tree, RAW[:at] + blob + RAW[at + n :])


@FUZZ
@given(at=st.integers(0, len(HIST_TEXT)), junk_text=st.text(min_size=1, max_size=6))
def test_text_inserted(tree, at, junk_text):
    TRIED["unicode / control text inserted"] += 1
    write_and_load(tree, (HIST_TEXT[:at] + junk_text + HIST_TEXT[at:]).encode("utf-8", "replace"))


@FUZZ
@given(blob=st.binary(max_size=300))
def test_binary_garbage(tree, blob):
    TRIED["binary garbage"] += 1
    assert isinstance(write_and_load(tree, blob), ScenarioError)


def alias_bomb(levels: int) -> str:
    rows = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels):
        rows.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(rows) + "\n"


MALFORMED = {
    "empty": b"",
    "whitespace": b"   \n\n\t\n",
    "comments only": b"# nothing\n# here\n",
    "BOM only": b"\xef\xbb\xbf",
    "NUL bytes": b"name: x\x00\n",
    "bad UTF-8": b"name: \xff\xfe\n",
    "UTF-16": "name: t\n".encode("utf-16"),
    "scalar document": b"42\n",
    "list document": b"- a\n- b\n",
    "two documents": b"name: a\n---\nname: b\n",
    "tab indentation": b"name: t\n\tstart: 2020-01-01\n",
    "unclosed flow": b"name: t\nfactions: [\n",
    "unclosed quote": b'name: "t\n',
    "bad indentation": b"name: t\n  start: 2020-01-01\n end: 2020-12-31\n",
    "python tag": b"name: !!python/object/apply:os.system [echo hi]\n",
    "undefined alias": b"name: *nope\n",
    "recursive alias": b"name: t\nstart: 2020-01-01\nend: 2020-12-31\nfactions: &a [*a]\n",
    "complex key": b"name: t\n? [a, b]\n: 1\n",
    "deep nesting": b"name: t\nx: " + b"[" * 600 + b"]" * 600 + b"\n",
    "deep but parseable": b"name: t\nx: " + b"[" * 400 + b"]" * 400 + b"\n",
    "alias bomb": alias_bomb(9).encode(),
    "control character": b"name: t\x07\n",
    "null key": b"name: t\nstart: 2020-01-01\nend: 2020-12-31\nnull: 1\n",
    "int key": b"name: t\nstart: 2020-01-01\nend: 2020-12-31\n7: 1\n",
    "date key": b"name: t\nstart: 2020-01-01\nend: 2020-12-31\n2020-01-01: 1\n",
    "huge line": b"name: " + b"x" * 200_000 + b"\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file(tree, name):
    TRIED["malformed (named case)"] += 1
    out = write_and_load(tree, MALFORMED[name])
    assert isinstance(out, ScenarioError), name
    if name in ("null key", "int key", "date key", "complex key", "tab indentation"):
        assert out.line is not None and out.line >= 2, str(out)


# --- extends / calibration -------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, expect_file",
    [
        ("../calibration/missing.yaml", "case"),
        ("../calibration", "case"),  # a directory
        ("''", "case"),
        ("5", "case"),
        ("[a, b]", "case"),
        ("'" + "x" * 5000 + "'", "case"),  # a name too long for the file system
        ('"a\\0b"', "case"),  # a NUL in the path
        ("garbage.yaml", "garbage"),  # a binary file
        ("broken.yaml", "broken"),  # malformed YAML
        ("listdoc.yaml", "listdoc"),  # not a mapping
        ("selfref.yaml", "selfref"),  # a circular chain
    ],
)
def test_bad_calibration_or_extends_path(tree, ref, expect_file):
    sdir = tree / "scenarios"
    (sdir / "garbage.yaml").write_bytes(b"\x00\xff\x00binary")
    (sdir / "broken.yaml").write_text("a: [\n")
    (sdir / "listdoc.yaml").write_text("- 1\n- 2\n")
    (sdir / "selfref.yaml").write_text("extends: selfref.yaml\n")
    for key in ("calibration", "extends"):
        TRIED[f"bad {key} path"] += 1
        if key == "calibration":
            text = HIST_TEXT.replace(
                "calibration: ../calibration/fitted.yaml", f"calibration: {ref}"
            )
        else:
            text = HIST_TEXT.replace("calibration: ../calibration/fitted.yaml", f"extends: {ref}")
        e = expect_error(text, case_path(tree))
        assert Path(e.file).stem == expect_file, str(e)
        if expect_file == "case":
            assert e.field == key and e.line == text.count("\n", 0, text.index(f"{key}:")) + 1


# --- regressions found by this suite -----------------------------------------------------------


def test_dates_at_the_ends_of_the_calendar_load(tree):
    """end + 100 years overflowed datetime.date (OverflowError) before the fix."""
    TRIED["valid: calendar extremes"] += 2
    for start, end in (("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-01-31")):
        # (the default drones_from, 2021-04-14, would be implausible in year 1)
        roster = "factions:\n  - {name: A, drones_from: null}\n"
        text = f"name: t\nstart: {start}\nend: {end}\n{roster}"
        sc = parse_scenario(text, case_path(tree))
        assert sc.n_days in (2, 31)


def test_calibration_overlay_with_a_malformed_roster(tree):
    """A faction name that is a list made the calibration overlay crash (TypeError).

    The overlay skips a faction it cannot name; validation blames the roster entry.
    """
    TRIED["calibration overlay on a malformed roster"] += 1
    cal = tree / "calibration" / "overlay.yaml"
    cal.write_text("factions:\n  KH: {base_rate: 0.1}\n")
    text = (
        "name: t\nstart: 2020-01-01\nend: 2020-12-31\ncalibration: ../calibration/overlay.yaml\n"
        "factions:\n  - name: [KH]\n"
    )
    e = expect_error(text, case_path(tree))
    assert e.line == 6 and e.field == "factions[0].name", str(e)


def test_yes_no_and_numbers_are_not_silently_converted(tree):
    """pydantic read `discipline: yes` as 1.0, `start: 0` as 1970-01-01, control "0.5" as 0.5."""
    cases = {
        "discipline: 0.7": ("discipline: yes", "factions[0].discipline"),
        "start: 2019-10-01": ("start: 0", "start"),
        "control: {Badr: 0.4, KSS: 0.1}": (
            "control: {Badr: '0.4', KSS: 0.1}",
            "iran.agencies[0].control.Badr",
        ),
    }
    for old, (new, field) in cases.items():
        TRIED["no silent conversion"] += 1
        text = HIST_TEXT.replace(old, new, 1)
        e = expect_error(text, case_path(tree))
        assert e.field == field and e.line == text.count("\n", 0, text.index(new)) + 1, str(e)
