"""``escsim replay``: re-run a results directory from its manifest and compare the results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from sim.cli import app
from sim.replay import ReplayError, compare_results, rebuild_scenario, replay
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import SMALL

runner = CliRunner()
RUNS, CHUNK = 12, 5


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    """A scenario that extends a base file and loads a calibration, in three directories."""
    root = tmp_path_factory.mktemp("study")
    (root / "scenarios").mkdir()
    (root / "base").mkdir()
    (root / "cal").mkdir()
    base = {k: v for k, v in SMALL.items() if k not in ("name", "pm")}
    (root / "base" / "small.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    (root / "cal" / "fit.yaml").write_text("militia: {noise: 0.7}\nfit: {status: test}\n")
    (root / "scenarios" / "policy.yaml").write_text(
        "name: policy\nextends: ../base/small.yaml\ncalibration: ../cal/fit.yaml\n"
        "pm: {crackdown: 0.9}\n"
    )
    return root


@pytest.fixture(scope="module")
def results(layout, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("res") / "r"
    run_scenario(
        load_scenario(layout / "scenarios" / "policy.yaml"), out, RUNS, chunk_size=CHUNK, argv=[]
    )
    return out


def copy_of(results: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(results, dst)
    return dst


def test_replay_is_identical_even_after_the_scenario_files_changed(layout, results, tmp_path):
    src = copy_of(results, tmp_path)
    # months later the study's files have moved on: replay uses the texts in the manifest
    (layout / "cal" / "fit.yaml").write_text("militia: {noise: 3.0}\n")
    try:
        res = runner.invoke(app, ["replay", str(src), "-q"])
    finally:
        (layout / "cal" / "fit.yaml").write_text("militia: {noise: 0.7}\nfit: {status: test}\n")
    assert res.exit_code == 0, res.output
    assert "identical" in res.output and f"{RUNS} of {RUNS} replicates" in res.output


@pytest.mark.parametrize(
    "argv",
    [
        ["--chunk-size", "1"],
        ["--chunk-size", str(RUNS)],
        ["--threads", "1"],
        ["--runs", "3", "--engine", "mesa"],
    ],
    ids=["chunk 1", "one chunk", "one thread", "mesa"],
)
def test_replay_another_way_gives_the_same_results(results, argv):
    res = runner.invoke(app, ["replay", str(results), "-q", *argv])
    assert res.exit_code == 0, res.output
    assert "identical" in res.output


def write_back(t: pa.Table, path: Path) -> None:
    """Write a tampered table back (a directory of chunk parts becomes one file: both read)."""
    if path.is_dir():
        shutil.rmtree(path)
    pq.write_table(t, path)


def rewrite(path: Path, column: str, fn) -> None:
    t = pq.read_table(path)
    i = t.schema.get_field_index(column)
    values = t.column(column).to_numpy(zero_copy_only=False).copy()
    t = t.set_column(i, column, pa.array(fn(values), type=t.schema.field(i).type))
    write_back(t, path)


def test_a_changed_event_is_reported_with_its_run_and_column(results, tmp_path):
    src = copy_of(results, tmp_path)
    ev = pq.read_table(src / "events.parquet")
    k = int(np.flatnonzero(ev.column("run").to_numpy() == 7)[0])

    def bump(x):
        x[k] += 1
        return x

    rewrite(src / "events.parquet", "killed", bump)
    res = runner.invoke(app, ["replay", str(src), "-q"])
    assert res.exit_code == 1, res.output
    assert "events: column 'killed' differs in 1 rows; first in run 7" in res.output
    assert "NOT identical" in res.output


def test_a_changed_outcome_is_reported(results, tmp_path):
    src = copy_of(results, tmp_path)
    rewrite(src / "runs.parquet", "attacks_us", lambda x: x + (np.arange(len(x)) == 4))
    res = runner.invoke(app, ["replay", str(src), "-q"])
    assert res.exit_code == 1
    assert "runs: column 'attacks_us' differs in 1 rows; first in run 4" in res.output


def test_a_missing_event_is_reported_as_a_count(results, tmp_path):
    src = copy_of(results, tmp_path)
    ev = pq.read_table(src / "events.parquet")
    runs = ev.column("run").to_numpy()
    drop = int(np.flatnonzero(runs == 9)[-1])
    keep = np.ones(len(runs), bool)
    keep[drop] = False
    write_back(ev.filter(pa.array(keep)), src / "events.parquet")
    res = runner.invoke(app, ["replay", str(src), "-q"])
    assert res.exit_code == 1
    n9 = int((runs == 9).sum())
    assert f"first in run 9 ({n9 - 1} stored, {n9} replayed)" in res.output, res.output


def test_another_seed_in_the_manifest_does_not_match(results, tmp_path):
    src = copy_of(results, tmp_path)
    m = json.loads((src / "manifest.json").read_text())
    m["seed"] += 1
    (src / "manifest.json").write_text(json.dumps(m))
    report = replay(src, runs=2)
    assert not report.identical and report.differences


def test_column_order_is_not_a_difference(results, tmp_path):
    src = copy_of(results, tmp_path)
    t = pq.read_table(src / "events.parquet")
    write_back(t.select(list(reversed(t.column_names))), src / "events.parquet")
    diffs, rows = compare_results(results, src, RUNS, 4)
    assert diffs == [] and rows == t.num_rows


def test_rebuilt_files_keep_their_layout_and_hash(results, tmp_path):
    manifest = json.loads((results / "manifest.json").read_text())
    assert len(manifest["scenario"]["files"]) == 3  # scenario, base, calibration
    loaded = rebuild_scenario(manifest, tmp_path / "w")
    assert loaded.sha256 == manifest["scenario"]["sha256"]
    assert loaded.scenario.militia.noise == 0.7 and loaded.scenario.pm.crackdown == 0.9
    m = json.loads(json.dumps(manifest))
    m["scenario"]["sha256"] = "0" * 64
    with pytest.raises(ReplayError, match="cannot replay faithfully"):
        rebuild_scenario(m, tmp_path / "w2")


def test_relative_paths_with_parent_directories_are_rebuilt(tmp_path):
    manifest = {
        "scenario": {
            "files": [
                {
                    "path": "../../s/x.yaml",
                    "text": "name: x\nstart: 2020-01-01\n"
                    "end: 2020-01-02\nextends: ../b/base.yaml\n",
                },
                {"path": "../../s/../b/base.yaml", "text": "seed: 3\n"},
            ]
        }
    }
    loaded = rebuild_scenario(manifest, tmp_path / "w")
    assert loaded.scenario.seed == 3 and Path(loaded.path).is_relative_to(tmp_path / "w")


def test_changed_package_versions_are_noted(results, tmp_path):
    src = copy_of(results, tmp_path)
    m = json.loads((src / "manifest.json").read_text())
    m["versions"]["numpy"] = "0.0.1"
    (src / "manifest.json").write_text(json.dumps(m))
    res = runner.invoke(app, ["replay", str(src), "-q", "--runs", "2"])
    assert res.exit_code == 0 and "note: numpy 0.0.1 when run" in res.output


def test_directories_that_cannot_be_replayed_exit_2(results, tmp_path):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "plan.json").write_text("{}")
    corrupt = copy_of(results, tmp_path / "c")
    (corrupt / "manifest.json").write_text("{not json")
    no_text = copy_of(results, tmp_path / "t")
    m = json.loads((no_text / "manifest.json").read_text())
    del m["scenario"]["text"]
    (no_text / "manifest.json").write_text(json.dumps(m))
    no_events = copy_of(results, tmp_path / "e")
    shutil.rmtree(no_events / "events.parquet")  # a directory of chunk parts
    cases = {
        "missing": ([str(tmp_path / "nope")], "not a results directory"),
        "unfinished": ([str(unfinished)], "--resume"),
        "no manifest": ([str(tmp_path)], "no manifest.json"),
        "corrupt manifest": ([str(corrupt)], "unreadable manifest"),
        "no scenario text": ([str(no_text)], "scenario.text"),
        "no event log": ([str(no_events)], "events.parquet is missing"),
        "too many runs": ([str(results), "--runs", str(RUNS + 1)], "--runs"),
        "zero runs": ([str(results), "--runs", "0"], "--runs"),
        "bad engine": ([str(results), "--engine", "gpu"], "--engine"),
        "bad threads": ([str(results), "--threads", "0"], "--threads"),
    }
    for name, (argv, needle) in cases.items():
        res = runner.invoke(app, ["replay", *argv, "-q"])
        assert res.exit_code == 2, (name, res.output)
        assert needle in res.output and "Traceback" not in res.output, (name, res.output)
