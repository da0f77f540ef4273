"""Fuzz the command line with invalid scenarios and options.

Every invalid input must give exit code 2, a message naming the file, the line (where there is
one) and the field, no traceback, and write nothing: the --out directory is not created, and
an existing one is left byte for byte as it was. Most cases go through typer's CliRunner; a
sample runs the installed ``escsim`` in a subprocess (``uv run escsim``).
"""

from __future__ import annotations

import collections
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import ScenarioError, load_scenario
from tests.scenario.test_fuzz_loader import (
    CATEGORIES,
    HIST_TEXT,
    MALFORMED,
    MUTABLE,
    SITES,
    bad_values,
    junk,
    kind_of,
    printable,
    replace_span,
    set_path,
)

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
TRIED: collections.Counter = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print("\nCLI fuzz inputs by category:", dict(sorted(TRIED.items())))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clitree")
    (root / "scenarios").mkdir()
    (root / "calibration").mkdir()
    (root / "calibration" / "fitted.yaml").write_text("fit: {status: fuzz placeholder}\n")
    return root


def _invalid_documents() -> dict[str, bytes]:
    """Named invalid scenario files: malformed text, bad values, keys, references, paths."""
    docs = {f"malformed: {k}": v for k, v in MALFORMED.items()}
    for kind, category in CATEGORIES:
        site = next(s for s in MUTABLE if kind_of(s) == kind and category in bad_values(s))
        docs[f"bad {kind}: {category}"] = replace_span(
            HIST_TEXT, site.node, bad_values(site)[category]
        ).encode()
    key = next(s for s in SITES if s.path == ("factions", 1, "discipline")).key
    docs["unknown key"] = (
        HIST_TEXT[: key.start_mark.index] + "dicsipline" + HIST_TEXT[key.end_mark.index :]
    ).encode()
    docs["duplicate key"] = HIST_TEXT.replace("seed: 20191001\n", "seed: 1\nseed: 2\n").encode()
    docs["dangling faction"] = HIST_TEXT.replace("faction: KSS,", "faction: KSZ,").encode()
    docs["end before start"] = HIST_TEXT.replace("end: 2021-12-31", "end: 2019-01-01").encode()
    docs["inject outside horizon"] = HIST_TEXT.replace(
        "{date: 2021-11-29", "{date: 2022-11-29"
    ).encode()
    docs["missing calibration"] = HIST_TEXT.replace("fitted.yaml", "fited.yaml").encode()
    docs["extends missing"] = (HIST_TEXT + "extends: base.yaml\n").encode()
    docs["scenario name with a slash"] = HIST_TEXT.replace(
        "name: historical", "name: ../../etc"
    ).encode()
    docs["rich markup in a key"] = (HIST_TEXT + '"[/bold]": 1\n').encode()
    docs["rich markup in a value"] = HIST_TEXT.replace(
        "doctrine: proportional", "doctrine: '[red]x[/red]'"
    ).encode()
    return docs


INVALID = _invalid_documents()


def write_case(tree: Path, name: str, raw: bytes) -> Path:
    path = tree / "scenarios" / (hashlib.sha1(name.encode()).hexdigest()[:10] + ".yaml")
    path.write_bytes(raw)
    return path


def expected_error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value


def check_cli_error(output: str, path: Path, err: ScenarioError) -> None:
    assert "Traceback" not in output, output
    assert printable(str(err)) in output, output  # the whole message, on one line
    assert f"field '{printable(err.field)}'" in output, output
    if Path(err.file) == path:
        where = f"{path}:{err.line}:" if err.line else f"{path}:"
        assert where in output, output


def snapshot(directory: Path) -> dict[str, str]:
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(directory.rglob("*"))
    }


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_scenario_validate_and_run(tree, tmp_path, name):
    TRIED[f"named invalid document ({name.split(':')[0]})"] += 1
    path = write_case(tree, name, INVALID[name])
    err = expected_error(path)
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    check_cli_error(res.output, path, err)
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(path), "--runs", "3", "--out", str(out), "-q"])
    assert res.exit_code == 2, res.output
    check_cli_error(res.output, path, err)
    assert not out.exists()


FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PATHS = [s.path for s in SITES if s.path]


@FUZZ
@given(path=st.sampled_from(PATHS), value=junk)
def test_junk_through_the_cli_is_rejected_cleanly(tree, tmp_path, path, value):
    doc = yaml.safe_load(HIST_TEXT)
    set_path(doc, path, value)
    raw = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
    case = write_case(tree, "junk", raw)
    try:
        load_scenario(case)
    except ScenarioError as exc:
        TRIED["junk document (invalid)"] += 1
        out = tmp_path / f"junk-{hashlib.sha1(raw).hexdigest()[:8]}"
        res = runner.invoke(app, ["run", str(case), "-n", "2", "-o", str(out), "-q"])
        assert res.exit_code == 2, res.output
        check_cli_error(res.output, case, exc)
        assert not out.exists()
        return
    TRIED["junk document (valid)"] += 1
    res = runner.invoke(app, ["validate", str(case)])
    assert res.exit_code == 0 and "ok" in res.output, res.output


@FUZZ
@given(
    option=st.sampled_from(["--runs", "--seed", "--chunk-size"]),
    value=st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=2**62 + 1, max_value=2**80),
        st.sampled_from(["abc", "1.5", "", "1e3", "--", "0x10", "NaN"]),
    ),
)
def test_bad_option_values(tmp_path, option, value):
    if option == "--seed" and isinstance(value, int) and value == 0:
        return  # seed 0 is valid
    if option != "--seed" and isinstance(value, int) and value > 0:
        return  # huge runs / chunk sizes are valid numbers (just large)
    TRIED[f"bad option {option}"] += 1
    out = tmp_path / "o"
    scenario = ROOT / "scenarios" / "historical.yaml"
    res = runner.invoke(app, ["run", str(scenario), option, str(value), "-o", str(out), "-q"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and option.lstrip("-").split("-")[0] in res.output
    assert not out.exists()


def test_other_bad_command_lines(tree, tmp_path):
    scenario = str(ROOT / "scenarios" / "historical.yaml")
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a directory")
    cases = {
        "engine": ["run", scenario, "--engine", "gpu", "-o", str(tmp_path / "o1")],
        "missing scenario": ["run", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "o2")],
        "directory as scenario": ["run", str(tmp_path), "-o", str(tmp_path / "o3")],
        "out is a file": ["run", scenario, "-n", "2", "-o", str(a_file), "-q"],
        "out under a file": ["run", scenario, "-n", "2", "-o", str(a_file / "sub"), "-q"],
        "validate nothing": ["validate"],
        "unknown option": ["run", scenario, "--rnus", "3"],
    }
    for name, argv in cases.items():
        TRIED[f"bad command line: {name}"] += 1
        res = runner.invoke(app, argv)
        assert res.exit_code == 2, (name, res.output)
        assert "Traceback" not in res.output, (name, res.output)
    assert a_file.read_text() == "not a directory"
    assert not any((tmp_path / n).exists() for n in ("o1", "o2", "o3"))


def test_invalid_input_leaves_existing_results_untouched(tree, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    for name, content in {
        "manifest.json": b'{"runs": 3}',
        "events.parquet": b"stand-in for an event log",
        "runs.parquet": b"stand-in for a runs table",
    }.items():
        (out / name).write_bytes(content)
    before = snapshot(out)
    scenario = tree / "scenarios" / "ok.yaml"
    scenario.write_text("name: tiny\nstart: 2020-01-01\nend: 2020-01-10\n")
    for name in ("bad number: nan", "malformed: empty", "dangling faction"):
        bad = write_case(tree, name, INVALID[name])
        for extra in ([], ["--overwrite"], ["--resume"]):
            TRIED["invalid input over existing results"] += 1
            res = runner.invoke(app, ["run", str(bad), "-n", "3", "-o", str(out), "-q", *extra])
            assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    for argv in (["--runs", "0"], ["--seed", "-3"], ["--engine", "x"], ["--chunk-size", "0"]):
        TRIED["bad option over existing results"] += 1
        res = runner.invoke(app, ["run", str(scenario), "-o", str(out), "-q", "--overwrite", *argv])
        assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert snapshot(out) == before


SUBPROCESS_CASES = ["bad number: nan", "malformed: NUL bytes"]


def escsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    uv = shutil.which("uv")
    cmd = [uv, "run", "--project", str(ROOT), "escsim"] if uv else [str(ROOT / ".venv/bin/escsim")]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_installed_escsim_in_a_subprocess(tree, tmp_path, name):
    TRIED["subprocess escsim validate + run"] += 1
    path = write_case(tree, name, INVALID[name])
    err = expected_error(path)
    out = tmp_path / "out"
    for argv in (["validate", str(path)], ["run", str(path), "-n", "2", "-o", str(out), "-q"]):
        proc = escsim(*argv, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stdout == "", proc.stdout
        check_cli_error(proc.stderr, path, err)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one line
    assert not out.exists()


def test_rich_markup_in_a_scenario_name_is_printed_as_written(tmp_path):
    """A name like "[red]x" was read as console markup (or crashed the CLI with MarkupError)."""
    scenario = tmp_path / "m.yaml"
    scenario.write_text('name: "[red]x [bold]y"\nstart: 2020-01-01\nend: 2020-01-05\n')
    res = runner.invoke(app, ["validate", str(scenario)])
    assert res.exit_code == 0 and "[red]x [bold]y" in res.output, res.output
    out = tmp_path / "o[bold]"
    res = runner.invoke(app, ["run", str(scenario), "-n", "2", "-o", str(out)])
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    assert "[red]x [bold]y" in res.output and f"results: {out}" in res.output
