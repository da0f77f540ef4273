"""The Compare tab's computation (``sim.app.comparison``): figures as jobs, labels in memory."""

from __future__ import annotations

import pytest

from sim.app import page
from sim.app.comparison import (
    comparison_with_figures,
    differences_figure,
    run_page_comparison,
    runs_figure,
)
from sim.report.rundata import load_run
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def moved(tmp_path):
    """status_quo with a lever moved (an edited scenario file) and truce (policy injects)."""
    loaded = [load_scenario(SCENARIOS / n) for n in ("status_quo.yaml", "truce.yaml")]
    return [page.apply_levers(loaded[0], {"us.strike_rate": "0.3"}, tmp_path), loaded[1]]


def test_documented_events_labelled_in_memory_as_from_the_manifest(tmp_path, moved):
    pc = run_page_comparison(moved, tmp_path, runs=8)
    labelled = 0
    for run in pc.runs:
        rebuilt = load_run(run.path, run.name)  # labels from the manifest's scenario files
        assert run.documented.equals(rebuilt.documented), run.name
        labelled += int((run.documented["label"] != "").sum())
    assert labelled > 0  # the comparison has labelled events: the check compares something


def test_figures_are_drawn_as_jobs_and_the_differences_on_request(tmp_path, moved):
    pc, figs = comparison_with_figures(moved, tmp_path, runs=8)
    assert set(figs) == {"fans", "thresholds"} and all(b.startswith(PNG) for b in figs.values())
    assert figs["fans"] == runs_figure("fans", pc.runs)
    assert figs["thresholds"] == runs_figure("thresholds", pc.runs)
    again, with_differences = comparison_with_figures(moved, tmp_path, runs=8, differences=True)
    assert again.reused and set(with_differences) == {"fans", "thresholds", "differences"}
    assert with_differences["differences"] == differences_figure(pc)
    assert with_differences["fans"] == figs["fans"]  # drawn once per comparison


def test_an_unknown_figure_is_refused():
    with pytest.raises(ValueError, match="no figure 'maps'"):
        runs_figure("maps", ())


def test_a_lever_change_links_every_table_of_the_unchanged_scenario(tmp_path, moved):
    """The unchanged scenario's results (all its tables) are hard links, not a rerun."""
    first = run_page_comparison(moved, tmp_path, runs=8)
    again = [page.apply_levers(moved[0], {"us.strike_rate": "0.2"}, tmp_path), moved[1]]
    second = run_page_comparison(again, tmp_path, runs=8)
    assert second.out != first.out
    src = first.out / first.meta["scenarios"][1]["dir"]
    dst = second.out / second.meta["scenarios"][1]["dir"]
    for table in ("events.parquet", "runs.parquet", "monthly.parquet"):
        a, b = src / table, dst / table
        assert b.exists(), table
        pa = sorted(a.rglob("*.parquet")) if a.is_dir() else [a]
        pb = sorted(b.rglob("*.parquet")) if b.is_dir() else [b]
        assert [p.stat().st_ino for p in pa] == [p.stat().st_ino for p in pb], table
