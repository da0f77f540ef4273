"""The notebook API: ``from sim import run, compare, load_results`` (issue 16, item 7)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import sim
from sim.scenario import LoadedScenario, parse_scenario
from tests.conftest import SMALL


def loaded(**overrides) -> LoadedScenario:
    """SMALL with overrides, as a LoadedScenario."""
    text = yaml.safe_dump({**SMALL, **overrides}, sort_keys=False)
    return LoadedScenario(parse_scenario(text, "small.yaml"), "small.yaml", text)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same run in memory and written to a directory, read back."""
    out = tmp_path_factory.mktemp("api") / "res"
    return sim.run(loaded(), runs=6, seed=3), sim.run(loaded(), runs=6, seed=3, out=out), out


def test_saved_results_load_with_the_in_memory_dtypes(both):
    mem, saved, out = both
    again = sim.load_results(out)
    for frame in ("events", "outcomes"):
        a, b = getattr(mem, frame), getattr(again, frame)
        assert dict(a.dtypes) == dict(b.dtypes), frame
        pd.testing.assert_frame_equal(a, b, check_categorical=False)
    assert pd.api.types.is_datetime64_any_dtype(mem.events["date"])
    assert mem.outcomes["attacks_us"].dtype == "int64"
    assert mem.outcomes["escalation_spiral"].dtype == bool
    pd.testing.assert_frame_equal(saved.outcomes, again.outcomes)


def test_monthly_counts_include_months_without_events(both):
    mem, _, _ = both
    table = mem.monthly("attack")
    assert table.shape == (12, 6)  # every month of 2020 and every replicate
    attacks = mem.events[mem.events.kind == "attack"]
    assert table.to_numpy().sum() == len(attacks)
    # the idiom that skips empty months counts only (month, run) pairs with an attack
    nonzero = attacks.groupby([attacks.date.dt.to_period("M"), "run"]).size()
    assert (table.to_numpy() == 0).sum() == 12 * 6 - len(nonzero)
    assert table.stack().median() <= nonzero.median()


def test_compare_in_memory_returns_dataframes_and_exports(tmp_path):
    base = loaded(name="base")
    calm = loaded(name="calm", militia={"noise": 0.0})
    comp = sim.compare([base, calm], runs=8, seed=2)
    assert isinstance(comp.table, pd.DataFrame) and comp.base == "base"
    assert set(comp.differences["scenario"]) == {"calm"}
    assert list(comp.levels.columns) == ["base", "calm"]
    assert comp.results["calm"].outcomes["run"].tolist() == list(range(8))
    comp.to_csv(tmp_path / "c.csv")
    comp.to_excel(tmp_path / "c.xlsx")
    back = pd.read_excel(tmp_path / "c.xlsx", sheet_name="statistics")
    assert len(back) == len(comp.table)
    assert pd.read_csv(tmp_path / "c.csv").shape == comp.table.shape


def test_run_over_the_posterior_in_memory_equals_the_written_run(tmp_path):
    """``run(posterior=...)`` gives replicate k draw k; in memory and on disk agree."""
    from tests.conftest import ROOT

    post = ROOT / "calibration" / "posterior.parquet"
    fixed = sim.run(loaded(), runs=6)
    mem = sim.run(loaded(), runs=6, posterior=post)
    disk = sim.run(loaded(), runs=6, posterior=post, out=tmp_path / "r")
    pd.testing.assert_frame_equal(mem.outcomes, disk.outcomes)
    pd.testing.assert_frame_equal(mem.events, disk.events)
    assert not mem.outcomes.equals(fixed.outcomes)  # the draws change the replicates
