"""The page's components (``solara.render``) and its computation, without a browser."""

from __future__ import annotations

import io
import zipfile

import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import pytest
import solara

from sim.app import page
from sim.app.comparison import export_zip, page_figures, run_page_comparison
from sim.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setattr(page, "WORKSPACE", tmp_path)
    monkeypatch.setattr(page, "SCENARIOS_DIR", SCENARIOS)
    return tmp_path


def scenarios():
    return page.available_scenarios(SCENARIOS)[0]


def test_every_scenario_file_is_offered():
    good, bad = page.available_scenarios(SCENARIOS)
    assert set(good) == {p.name for p in SCENARIOS.glob("*.yaml")} and not bad


@pytest.mark.parametrize(
    "files, levers, message",
    [
        (["status_quo.yaml"], {}, "choose 2 to 4 scenarios; 1 chosen"),
        (
            ["status_quo.yaml", "truce.yaml"],
            {"truce.yaml": {"us.strike_rate": "-0.5"}},
            "truce: US strike rate: expected a value greater than or equal to 0; found -0.5",
        ),
        (
            ["status_quo.yaml", "truce.yaml"],
            {"status_quo.yaml": {"us.red_line": "many"}},
            "status_quo: US red line: expected a number; found 'many'",
        ),
    ],
)
def test_bad_input_comes_back_as_a_message(files, levers, message):
    pc, figs, error = page.compute(files, levers, 20)
    assert pc is None and figs == {}
    assert message in error


def test_an_unexpected_failure_is_a_message_not_a_crash(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(page, "comparison_with_figures", boom)
    pc, _, error = page.compute(["status_quo.yaml", "truce.yaml"], {}, 20)
    assert pc is None and "RuntimeError: disk on fire" in error


def test_lever_panel_shows_the_scenarios_values_and_records_a_move():
    page.lever_state.set({})
    loaded = scenarios()["strong_us_retaliation.yaml"]
    box, rc = solara.render(
        page.LeverPanel("strong_us_retaliation.yaml", loaded, 1), handle_error=False
    )
    fields = {w.label: w for w in rc.find(v.TextField).widgets}
    assert fields["US strike rate"].v_model == "0.3"
    assert fields["Truce from"].v_model == "2020-06-01"
    fields["US strike rate"].v_model = "0.9"
    fields["US strike rate"].fire_event("focusout")  # InputText commits on focus out or Enter
    assert page.lever_state.value == {"strong_us_retaliation.yaml": {"us.strike_rate": "0.9"}}
    rc.find(v.Btn, children=["Reset levers"]).widget.click()
    assert page.lever_state.value == {}
    rc.close()


def test_a_scenario_without_policy_shows_no_levers():
    loaded = scenarios()["historical.yaml"]
    box, rc = solara.render(page.LeverPanel("historical.yaml", loaded, 0), handle_error=False)
    rc.find(v.Alert, children=["No policy block: this scenario has no levers."]).assert_single()
    assert not rc.find(v.TextField).widgets
    rc.close()


def test_export_tab_waits_for_a_comparison():
    box, rc = solara.render(page.ExportTab(), handle_error=False)
    rc.find(v.Alert, children=["Run a comparison on the Compare tab first."]).assert_single()
    rc.close()


def test_a_small_comparison_exports_what_escsim_compare_writes(workspace):
    loaded = [load_scenario(SCENARIOS / n) for n in ("status_quo.yaml", "truce.yaml")]
    pc = run_page_comparison(loaded, workspace, runs=12)
    assert pc.comp.names == ("status_quo", "truce") and not pc.reused
    figs = page_figures(pc)
    assert all(b[:8] == b"\x89PNG\r\n\x1a\n" for b in figs.values()) and set(figs) == {
        "fans",
        "thresholds",
    }
    assert "truce - status_quo" in pc.html and "Days under truce" in pc.html
    again = run_page_comparison(loaded, workspace, runs=12)
    assert again.reused and again.comp.table.equals(pc.comp.table)
    # a lever change reruns only the scenario it changed: the other is linked, not rerun
    moved = [page.apply_levers(loaded[0], {"us.red_line": "4"}, workspace), loaded[1]]
    changed = run_page_comparison(moved, workspace, runs=12)
    assert changed.out != pc.out and not changed.reused
    old, new = pc.out / "truce" / "events.parquet", changed.out / "truce" / "events.parquet"
    assert old.stat().st_ino == new.stat().st_ino
    truce_rows = changed.comp.table[changed.comp.table["scenario"] == "truce"]
    assert (
        truce_rows["mean"].tolist() == pc.comp.table.query("scenario == 'truce'")["mean"].tolist()
    )
    with zipfile.ZipFile(io.BytesIO(export_zip(pc))) as zf:
        names = set(zf.namelist())
    root = f"escsim-compare-{pc.out.name}"
    for name in (
        "comparison.json",
        "comparison.csv",
        "comparison.md",
        "brief.pdf",
        "plots/fans.png",
    ):
        assert f"{root}/{name}" in names
    for sc in ("status_quo", "truce"):
        for f in ("manifest.json", "events.parquet", "runs.parquet"):
            assert f"{root}/{sc}/{f}" in names


def test_the_editor_adds_a_valid_scenario_and_explains_an_invalid_one():
    page.custom.set({})
    page.selection.set(["status_quo.yaml", "truce.yaml"])
    box, rc = solara.render(page.ScenarioEditor(scenarios()), handle_error=False)
    area = rc.find(v.Textarea).widget
    area.v_model = "name: calm\nextends: truce.yaml\niran: {revenge: 0.5}\n"
    area.fire_event("focusout")
    rc.find(v.Btn, children=["Add to the scenarios"]).widget.click()
    assert list(page.custom.value) == ["calm (page)"]
    assert page.selection.value == ["status_quo.yaml", "truce.yaml", "calm (page)"]
    assert page.custom.value["calm (page)"].scenario.iran.revenge == 0.5
    area.v_model = "name: calm\nextends: truce.yaml\niran: {revenge: -3}\n"
    area.fire_event("focusout")
    rc.find(v.Btn, children=["Add to the scenarios"]).widget.click()
    error = rc.find(v.Alert).widget.children[0]
    assert error.startswith("edited scenario:3: field 'iran.revenge'") and "-3" in error
    rc.close()
    page.custom.set({})


def test_over_the_posterior_the_page_shows_the_answer_table_first(workspace, monkeypatch):
    monkeypatch.setattr(page, "POSTERIOR_FILE", ROOT / "calibration" / "posterior.parquet")
    files = ["status_quo.yaml", "truce.yaml"]
    pc, figs, error = page.compute(files, {}, 12, over_posterior=True)
    assert not error and set(figs) == {"fans", "thresholds"}
    assert pc.meta["posterior"]["draws"] == 12
    text = pc.html
    answer, fitted = text.index("The answer over the posterior"), text.index("Outcomes per")
    assert answer < fitted and "total 90% (posterior)" in text and "P(lower)" in text
    rows = [r for r in pc.meta["differences"] if r["scenario"] == "truce"]
    assert rows and all(r["total_interval90"] is not None for r in rows)
    fixed, _, error = page.compute(files, {}, 12, over_posterior=False)
    assert not error and fixed.out != pc.out and fixed.meta["posterior"] is None
    assert "The answer over the posterior" not in fixed.html
    # the fitted-point statistics are the same replicates both ways
    assert fixed.comp.table.equals(pc.comp.table)


def test_reused_posterior_runs_equal_a_fresh_run(workspace):
    from sim.analysis import compare
    from sim.analysis.design import DesignScenario
    from sim.analysis.posterior import read_posterior, resample_draws, run_posterior

    post = read_posterior(ROOT / "calibration" / "posterior.parquet")
    ls = load_scenario(SCENARIOS / "truce.yaml")
    rows = resample_draws(post, 8, 3)
    first = compare._posterior_metrics(ls, 3, post, rows, 1)
    first[:] = -1  # a caller changing its copy does not change the memo
    again = compare._posterior_metrics(ls, 3, post, rows, 1)
    fresh = run_posterior(DesignScenario.of(ls.scenario, seed=3), post, rows, 1)
    assert np.array_equal(again, fresh, equal_nan=True)


class FakeTask:
    """Stands for ``page.compare_task``: records its calls, has no result."""

    value = None
    pending = False

    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)


def test_the_posterior_switch_sets_the_mode(monkeypatch):
    monkeypatch.setattr(page, "POSTERIOR_FILE", ROOT / "calibration" / "posterior.parquet")
    task = FakeTask()
    calls = task.calls
    monkeypatch.setattr(page, "compare_task", task)
    page.use_posterior.set(True)
    page.selection.set(["status_quo.yaml", "truce.yaml"])
    box, rc = solara.render(page.CompareTab(), handle_error=False)
    assert calls and calls[-1][4] is True  # the first comparison runs over the posterior
    switch = rc.find(v.Switch).widget
    assert "Over the posterior" in switch.label and switch.v_model is True
    switch.v_model = False
    assert page.use_posterior.value is False and calls[-1][4] is False
    rc.close()
    page.use_posterior.set(True)


def test_without_a_posterior_file_the_page_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(page, "POSTERIOR_FILE", tmp_path / "none.parquet")
    monkeypatch.setattr(page, "compare_task", FakeTask())
    page.selection.set(["status_quo.yaml", "truce.yaml"])
    box, rc = solara.render(page.CompareTab(), handle_error=False)
    assert not rc.find(v.Switch).widgets
    note = f"{tmp_path / 'none.parquet'} not found: comparing at the fixed (fitted) parameters."
    rc.find(v.Html, children=[note]).assert_single()
    rc.close()


class RunningTask(FakeTask):
    """A comparison task still running, whose previous run finished with ``latest``."""

    pending = True

    def __init__(self, latest):
        super().__init__()
        self.latest = latest


def images(rc) -> dict[str, bytes]:
    """Return the images rendered (``solara.Image``: ipywidgets' Image), by class."""
    return {
        c: bytes(w.value)
        for w in rc.find(widgets.Image).widgets
        for c in w._dom_classes
        if c.startswith("escsim-")
    }


def test_while_a_comparison_runs_the_previous_one_stays_on_the_page(monkeypatch):
    files = ["status_quo.yaml", "truce.yaml"]
    pc, figs, error = page.compute(files, {}, 8)
    assert not error
    monkeypatch.setattr(page, "compare_task", RunningTask((pc, figs, "", 1.0)))
    page.selection.set(files)
    box, rc = solara.render(page.CompareTab(), handle_error=False)
    rc.find(v.Html, children=["Running the paired replicates... (below: the previous comparison)"])
    assert images(rc) == {"escsim-fans": figs["fans"], "escsim-thresholds": figs["thresholds"]}
    status = [w for w in rc.find(v.Html).widgets if w.class_ == "escsim-status"]
    assert len(status) == 1 and "8 paired replicates per scenario" in status[0].children[0]
    rc.close()
    # a previous error is not shown while the next comparison runs
    monkeypatch.setattr(page, "compare_task", RunningTask((None, {}, "boom", 0.1)))
    box, rc = solara.render(page.CompareTab(), handle_error=False)
    assert not images(rc) and not rc.find(v.Alert).widgets
    rc.close()


def test_asking_for_the_differences_sets_the_page_state():
    page.show_differences.set(False)
    box, rc = solara.render(page.DifferencesFigure(None), handle_error=False)
    button = rc.find(v.Btn, children=["Show the distributions of paired differences"])
    button.widget.click()
    assert page.show_differences.value is True
    rc.close()
    box, rc = solara.render(page.DifferencesFigure(b"\x89PNG\r\n\x1a\n"), handle_error=False)
    assert set(images(rc)) == {"escsim-differences"} and not rc.find(v.Btn).widgets
    rc.close()
    page.show_differences.set(False)
