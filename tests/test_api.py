import pandas as pd

from sim import load_scenario, run
from tests.conftest import SCENARIOS


def test_notebook_api_returns_the_event_log(tmp_path):
    sc = load_scenario(SCENARIOS / "historical.yaml")
    events = run(sc, runs=5, seed=2)
    assert isinstance(events, pd.DataFrame) and set(events.run) == set(range(5))
    assert (events.kind == "attack").sum() > 0
    again = run(SCENARIOS / "historical.yaml", runs=5, seed=2, out=tmp_path / "r")
    pd.testing.assert_frame_equal(events, again)
    assert (tmp_path / "r" / "manifest.json").exists()
