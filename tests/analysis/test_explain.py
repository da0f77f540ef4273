"""The chain behind a replicate's largest escalation, on a hand-built log and from results."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.analysis import explain as X
from sim.cli import app
from sim.runner import run_scenario
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

runner = CliRunner()
COLS = (
    "date",
    "actor",
    "kind",
    "weapon",
    "target",
    "claimed_as",
    "killed",
    "subject",
    "detail",
    "forced",
    "intercepted",
    "us_killed",
)


def ev(
    date,
    actor,
    kind,
    weapon=None,
    target=None,
    claimed_as=None,
    killed=0,
    subject=None,
    detail=None,
    forced=False,
    intercepted=False,
    us_killed=0,
):
    return (
        pd.Timestamp(date),
        actor,
        kind,
        weapon,
        target,
        claimed_as,
        killed,
        subject,
        detail,
        forced,
        intercepted,
        us_killed,
    )


def log(rows):
    df = pd.DataFrame(rows, columns=COLS)
    df.insert(0, "run", 3)
    return df


HAND = log(
    [
        ev("2020-05-20", "Beit Rahbari", "directive", detail="escalate"),
        ev("2020-05-25", "PM", "arrest", subject="KH"),
        ev("2020-06-02", "PM", "release", subject="KH"),
        ev("2020-06-05", "KH", "attack", "rocket", "us_base", us_killed=1, killed=2),
        ev("2020-06-05", "US", "attribution", subject="KH"),
        ev("2020-06-05", "AAH", "attack", "ied", "convoy", claimed_as="Ashab al-Kahf"),
        ev("2020-06-07", "US", "us_strike", subject="KH", detail="leadership", killed=6),
        ev("2020-06-10", "KH", "attack", "rocket", "us_embassy", intercepted=True),
        ev("2020-06-12", "AAH", "attack", "small_arms", "activist", killed=1),
        ev("2020-06-20", "KH", "truce_start", detail="comply"),
        ev("2020-06-20", "AAH", "truce_start", detail="spoiler"),
        ev("2020-06-25", "AAH", "attack", "rocket", "us_embassy"),
        ev("2020-06-25", "KH", "truce_end", detail="breakdown"),
        ev("2020-06-25", "AAH", "truce_end", detail="breakdown"),
        ev("2020-08-20", "KH", "attack", "rocket", "us_base"),
        ev("2020-09-30", "KH", "attack", "rocket", "us_base"),
    ]
)


def test_largest_escalation_is_the_densest_window_earliest_on_ties():
    e = X.largest_escalation(HAND, pd.Timestamp("2020-06-01"), pd.Timestamp("2020-12-31"))
    # attacks on US targets on 06-05 (2), 06-10, 06-25: the window from 06-01 holds all four
    assert (e.start, e.end, e.attacks_us) == (
        pd.Timestamp("2020-06-01"),
        pd.Timestamp("2020-06-30"),
        4,
    )
    e = X.largest_escalation(
        HAND, pd.Timestamp("2020-06-08"), pd.Timestamp("2020-12-31"), window=10
    )
    assert (e.start, e.attacks_us) == (pd.Timestamp("2020-06-08"), 1)  # 06-10 first, earliest
    assert (
        X.largest_escalation(HAND, pd.Timestamp("2021-01-01"), pd.Timestamp("2021-12-31")) is None
    )


def test_window_is_truncated_at_the_end_of_the_search():
    e = X.largest_escalation(HAND, pd.Timestamp("2020-09-01"), pd.Timestamp("2020-10-10"))
    assert e.attacks_us == 1 and e.start == pd.Timestamp("2020-09-01")
    assert e.end == pd.Timestamp("2020-09-30")


def test_chain_merges_attributions_and_truce_rows():
    ex = X.explain_events(HAND, 3, pd.Timestamp("2020-06-01"), pd.Timestamp("2020-12-31"))
    texts = [(s.date.strftime("%m-%d"), s.phase, s.text) for s in ex.steps]
    assert ("05-20", "lead-up", "Beit Rahbari directs its factions: escalate") in texts
    assert ("05-25", "lead-up", "PM raids KH, detainees held") in texts
    assert (
        "06-05",
        "escalation",
        "KH attack: rocket on us_base, 2 killed (1 US); the US attributes it to KH",
    ) in texts
    assert (
        "06-05",
        "escalation",
        "AAH attack: ied on convoy, claimed as Ashab al-Kahf; not attributed",
    ) in texts
    assert not any("US attributes an attack" in t for _, _, t in texts)  # merged into the attack
    assert ("06-07", "escalation", "US leadership strike on KH: 6 killed") in texts
    assert (
        "06-10",
        "escalation",
        "KH attack: rocket on us_embassy, intercepted; not attributed",
    ) in texts
    assert ("06-20", "escalation", "truce starts: complying KH; spoilers AAH") in texts
    assert (
        "06-25",
        "escalation",
        "truce collapses (a spoiler attacked US sites) for KH, AAH",
    ) in texts
    assert ex.summary["escalation"] == {
        "attacks_us": 4,
        "attacks_other": 1,
        "us_strikes": 1,
        "us_killed": 1,
    }
    assert ex.summary["after"]["attacks_us"] == 0  # 08-20 is 51 days after the window
    dates = [s.date for s in ex.steps]
    assert dates == sorted(dates)


def test_format_explanation_lines():
    ex = X.explain_events(HAND, 3, pd.Timestamp("2020-06-01"), pd.Timestamp("2020-12-31"))
    lines = [t for t, _ in X.format_explanation(ex, "demo")]
    assert lines[0] == "Replicate 3 of demo"
    assert lines[1].startswith(
        "Largest escalation: 4 attacks on US targets from 2020-06-01 to 2020-06-30"
    )
    assert any(ln.startswith("Lead-up (30 days before 2020-06-01)") for ln in lines)
    assert any(ln.startswith("What followed") for ln in lines)
    assert any(ln.startswith("  2020-06-07  US leadership strike on KH") for ln in lines)
    none = X.explain_events(HAND, 3, pd.Timestamp("2021-01-01"), pd.Timestamp("2021-06-30"))
    assert "nothing escalated" in X.format_explanation(none)[1][0]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "sq"
    run_scenario(load_scenario(SCENARIOS / "status_quo.yaml"), out, 6, seed=2, argv=[])
    return out


def test_explain_run_reads_one_replicate(results):
    ex = X.explain_run(results, 4)
    assert ex.run == 4 and ex.searched_from == pd.Timestamp("2020-06-01")
    runs = pd.read_parquet(results / "runs.parquet").set_index("run")
    assert ex.escalation.attacks_us == runs.loc[4, "peak_30d_us_attacks"]
    with pytest.raises(KeyError):
        X.explain_run(results, 99)


def test_explain_command(results):
    res = runner.invoke(app, ["explain", str(results), "--run", "4"])
    assert res.exit_code == 0, res.output
    assert "Largest escalation" in res.output and "What followed" in res.output
    res = runner.invoke(app, ["explain", str(results), "--run", "99"])
    assert res.exit_code == 2 and "replicate 99 is not in" in res.output
    res = runner.invoke(app, ["explain", str(results.parent), "--run", "0"])
    assert res.exit_code == 2 and "not a results directory" in res.output
    assert json.loads((results / "manifest.json").read_text())["runs"] == 6
