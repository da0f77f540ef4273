import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console

from sim import vocab as V
from sim.model import layout as L
from sim.results import outcomes as O
from sim.results.outcomes import METRICS, replicate_metrics


def rec(day, kind, target=-1, actor=0, killed=0, claimed=-1, us_killed=0):
    r = np.full(L.N_ECOLS, -1, dtype=np.int32)
    r[[L.E_DAY, L.E_KIND, L.E_TARGET, L.E_ACTOR, L.E_KILLED, L.E_CLAIMED, L.E_US_KILLED]] = [
        day,
        kind,
        target,
        actor,
        killed,
        claimed,
        us_killed,
    ]
    return r


def metrics(records, reps, n_reps=1, n_days=100, outcome_day=0, nf=2):
    m = replicate_metrics(
        np.array(records, dtype=np.int32).reshape(-1, L.N_ECOLS),
        np.array(reps, dtype=np.int64),
        0,
        n_reps,
        n_days,
        outcome_day,
        nf,
    )
    return [dict(zip(METRICS, row, strict=True)) for row in m]


def test_counts_on_a_hand_built_log():
    log = [
        rec(1, V.K_ATTACK, V.T_US_BASE, killed=2, us_killed=1, claimed=0),
        rec(2, V.K_ATTACK, V.T_PM),
        rec(3, V.K_US_STRIKE),
        rec(5, V.K_TRUCE_START, actor=0),
        rec(5, V.K_TRUCE_START, actor=1),
        rec(15, V.K_TRUCE_END, actor=0),
        rec(20, V.K_TRUCE_END, actor=1),
        rec(30, V.K_ARREST),
        rec(31, V.K_RELEASE),
    ]
    m = metrics(log, [0] * len(log))[0]
    assert m["attacks_us"] == 1 and m["attacks_state"] == 1 and m["attacks_total"] == 2
    assert m["attacks_on_pm"] == 1 and m["killed"] == 2 and m["us_killed"] == 1
    assert m["us_strikes"] == 1 and m["arrests"] == 1 and m["releases"] == 1
    assert m["truce_days"] == 15  # union of days 5..14 and 5..19
    assert m["front_claim_share"] == 0.5
    assert m["escalation_spiral"] == 0 and m["days_to_deescalation"] == 0


def test_outcome_window_excludes_earlier_events_and_empty_replicates():
    log = [rec(1, V.K_ATTACK, V.T_US_BASE), rec(50, V.K_ATTACK, V.T_US_BASE)]
    m = metrics(log, [1, 1], n_reps=3, outcome_day=10)
    assert m[0]["attacks_total"] == 0 and np.isnan(m[0]["front_claim_share"])
    assert m[1]["attacks_us"] == 1 and m[2]["attacks_total"] == 0


def test_spiral_and_deescalation_definitions():
    # strike on day 40; 2 attacks in the 30 days before, 6 in the 30 after; strike again on day 70
    days = [15, 30] + [45, 48, 51, 54, 57, 60]
    log = [rec(d, V.K_ATTACK, V.T_US_BASE) for d in days]
    log += [rec(40, V.K_US_STRIKE), rec(70, V.K_US_STRIKE)]
    log.sort(key=lambda r: r[L.E_DAY])
    m = metrics(log, [0] * len(log), n_days=200)[0]
    # one 30-day span of 6 attacks after a quiet one is a burst, not a sustained rise
    # (the spiral's own known answers: tests/results/test_spiral.py)
    assert m["escalation_spiral"] == 0
    # first 30-day window with <= 2 US attacks starts on day 0 (attacks on days 15 and 30 only)
    assert m["days_to_deescalation"] == 0
    assert m["peak_30d_us_attacks"] == 6
    # with 4 more attacks on days 20-26, days 15-44 and 45-74 each hold >= 5: a spiral
    busy_before = sorted(
        log + [rec(d, V.K_ATTACK, V.T_US_BASE) for d in (20, 22, 24, 26)], key=lambda r: r[L.E_DAY]
    )
    assert metrics(busy_before, [0] * len(busy_before), n_days=200)[0]["escalation_spiral"] == 1
    # frequent strikes with few attacks are not a spiral
    quiet = sorted(
        [rec(d, V.K_US_STRIKE) for d in range(0, 200, 20)]
        + [rec(d, V.K_ATTACK, V.T_US_BASE) for d in (5, 90)],
        key=lambda r: r[L.E_DAY],
    )
    assert metrics(quiet, [0] * len(quiet), n_days=200)[0]["escalation_spiral"] == 0
    busy = [rec(d, V.K_ATTACK, V.T_US_BASE) for d in range(100)]
    m = metrics(busy, [0] * 100, n_days=100)[0]
    assert np.isnan(m["days_to_deescalation"]) and m["escalation_spiral"] == 1
    assert m["peak_30d_us_attacks"] == 30


# --- the outcome catalogue ----------------------------------------------------------------------


def test_catalogue_declares_each_outcome_once_and_metrics_are_its_columns():
    keys = [o.key for o in O.OUTCOMES]
    assert len(keys) == len(set(keys))
    assert tuple(o.key for o in O.OUTCOMES if not o.source) == METRICS
    for o in O.OUTCOMES:
        assert o.column in METRICS, o.key  # derived outcomes read a metric column
        assert o.kind in ("count", "share", "days", "ratio")
        assert o.better in ("lower", "higher", None)
        assert o.label and o.unit
    for key in (*O.COMPARED, *O.DIFFERENCE_PANELS):
        assert key in O.OUTCOME_BY_KEY
    # every column constant of replicate_metrics is the position of its metric
    columns = {k: v for k, v in vars(O).items() if k.startswith("C_")}
    assert columns == {"C_" + m.upper(): j for j, m in enumerate(METRICS)}


def test_derived_outcomes():
    runs = {
        "attacks_on_pm": np.array([0.0, 2.0, 1.0]),
        "days_to_deescalation": np.array([3.0, np.nan, 0.0]),
    }
    by = O.OUTCOME_BY_KEY
    assert by["pm_attacked"].values(runs).tolist() == [0.0, 1.0, 1.0]
    assert by["never_deescalated"].values(runs).tolist() == [0.0, 1.0, 0.0]
    np.testing.assert_array_equal(by["days_to_deescalation"].values(runs), [3.0, np.nan, 0.0])


def test_definitions_come_from_the_catalogue():
    from sim.analysis.compare import DEFINITIONS

    for o in O.OUTCOMES:
        if o.key in O.COMPARED and o.definition:
            assert o.definition in DEFINITIONS
    assert O.SPIRAL_DEFINITION in DEFINITIONS
    assert O.definitions(("attacks_us",)) == ""  # its label says it all


def _runs_frame(n=6):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({m: rng.integers(0, 4, n).astype(float) for m in METRICS})
    df["days_to_deescalation"] = np.where(np.arange(n) % 3 == 0, np.nan, 7.0)
    df.insert(0, "run", np.arange(n))
    return df


def _summary_text(runs: pd.DataFrame) -> str:
    from sim.cli.common import summary_table

    console = Console(width=200, record=True)
    console.print(summary_table(pa.Table.from_pandas(runs, preserve_index=False), "t"))
    return console.export_text()


def _summary_labels(runs: pd.DataFrame) -> list[str]:
    rows = [ln.split("│") for ln in _summary_text(runs).splitlines() if ln.startswith("│")]
    return [r[1].strip() for r in rows]


def test_catalogue_drives_the_comparison_rows_and_the_cli_summary(monkeypatch):
    from sim.analysis import compare as C

    runs = _runs_frame()
    # the real catalogue: every compared outcome is a row of both, by its label
    comp = C.compare_outcomes({"a": C.outcome_frame(runs), "b": C.outcome_frame(runs)}, seed=0)
    rows = [r[0] for r in C.level_matrix(comp)]
    assert rows == [O.OUTCOME_BY_KEY[k].label for k in O.COMPARED]
    assert all(C.OUTCOMES[i] is O.OUTCOME_BY_KEY[k] for i, k in enumerate(O.COMPARED))
    labels = _summary_labels(runs)
    assert labels == [o.label for o in O.OUTCOMES] and set(rows) <= set(labels)
    # a new catalogue entry appears in both
    extra = O.Outcome("us_death", "P(a US death)", "share", "share", "lower", "us_killed", "any")
    monkeypatch.setattr(O, "OUTCOMES", (*O.OUTCOMES, extra))
    monkeypatch.setattr(C, "OUTCOMES", (*C.OUTCOMES, extra))
    assert "P(a US death)" in _summary_labels(runs)
    frame = C.outcome_frame(runs)
    assert frame["us_death"].tolist() == (runs["us_killed"] > 0).astype(float).tolist()
    comp = C.compare_outcomes({"a": frame, "b": frame}, seed=0)
    assert [r[0] for r in C.level_matrix(comp)][-1] == "P(a US death)"


def test_cli_summary_shows_probabilities_not_medians():
    runs = _runs_frame(4)
    runs["escalation_spiral"] = [0.0, 1.0, 0.0, 0.0]
    text = _summary_text(runs)
    line = next(ln for ln in text.splitlines() if "P(escalation spiral)" in ln)
    assert [c.strip() for c in line.split("│")[2:6]] == ["", "", "", "25.0%"]  # no quantiles
    never = next(ln for ln in text.splitlines() if "Days to de-escalation" in ln)
    assert "never" in never  # 2 of 4 never de-escalated: the 95% quantile is "never"
    assert "escalation_spiral" not in text  # labels, not column names


def test_monthly_counts_on_a_hand_built_log():
    # replicates 10 and 11 over 2020-01-30 .. 2020-03-01 (months Jan, Feb, Mar): day 0 = Jan 30
    log = [
        rec(0, V.K_ATTACK, V.T_US_BASE),  # rep 10, January
        rec(1, V.K_ATTACK, V.T_CONVOY),
        rec(2, V.K_ATTACK, V.T_PM),  # February 1st
        rec(2, V.K_US_STRIKE),
        rec(31, V.K_ARREST),  # not counted
        rec(31, V.K_ATTACK, V.T_STATE),  # rep 11, March 1st
    ]
    reps = np.array([10, 10, 10, 10, 11, 11], dtype=np.int64)
    got = O.monthly_counts(
        np.array(log, dtype=np.int32), reps, 10, 2, np.datetime64("2020-01-30"), 32
    )
    assert got["run"].tolist() == [10, 10, 10, 11, 11, 11]
    assert [str(m) for m in got["month"][:3]] == ["2020-01-01", "2020-02-01", "2020-03-01"]
    assert got["attacks_us"].tolist() == [2, 0, 0, 0, 0, 0]
    assert got["attacks_state"].tolist() == [0, 1, 0, 0, 0, 1]
    assert got["us_strikes"].tolist() == [0, 1, 0, 0, 0, 0]
    assert all(got[c].dtype == np.int32 for c in O.MONTHLY_COLUMNS)
