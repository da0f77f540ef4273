import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim import vocab as V
from sim.analysis import observed as O
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.model.world import compile_world
from sim.results.events import SCHEMA, records_to_table, to_frame
from tests.conftest import build

# --- the data files ----------------------------------------------------------------------------


RULE_WEAPONS = {
    "rocket": ("rocket",),
    "ied": ("ied",),
    "drone": ("drone",),
    "rocket+ied": ("rocket", "ied"),
    "rocket+drone": ("rocket", "drone"),
    "rocket+ied+drone": ("rocket", "ied", "drone"),
}
"""The README's mapping of a counter's rule to event-log weapons (calibration/data/README.md)."""


def test_tallies_have_the_documented_columns_and_mappings():
    t = O.load_tallies()
    assert list(t.columns[:10]) == [
        "id",
        "start",
        "end",
        "count",
        "bound",
        "counter",
        "weapons",
        "targets",
        "measure",
        "source",
    ]
    for col in ("counter_id", "nested_in", "iraq_share_known", "period", "use", "geography"):
        assert col in t.columns
    assert t["id"].is_unique and t["id"].str.fullmatch(r"T\d\d").all()
    assert pd.api.types.is_datetime64_any_dtype(t["start"])
    assert pd.api.types.is_datetime64_any_dtype(t["end"])
    assert t["count"].dtype == np.int64 and (t["count"] >= 0).all()
    assert (t["source"].str.startswith("http")).all()
    assert (t["counter_id"].str.len() > 0).all()
    period = np.where(t["end"] <= "2022-12-31", "2019_2022", "2023_2024")
    assert (t["period"] == period).all()
    row = t.set_index("id")
    assert row.loc["T16", "targets"] == ("us_embassy",)
    assert row.loc["T16", "count"] == 0 and row.loc["T16", "bound"] == "exact"
    assert row.loc["T18", "measure"] == "killed"
    assert row.loc["T10", "weapons"] == ("ied",) and row.loc["T10", "targets"] == ("convoy",)
    assert row.loc["T15", "use"] != "fit"  # window opens before the simulated period
    assert row.loc["T13", "count"] == 55 and row.loc["T13", "bound"] == "lower"


def test_counting_rules_are_not_mixed():
    t = O.load_tallies()
    for _, r in t.iterrows():
        if r["rule"] in RULE_WEAPONS:
            assert r["weapons"] == RULE_WEAPONS[r["rule"]], r["id"]
            assert r["measure"] == "attacks"
        else:
            assert r["rule"] == "deaths" and r["measure"] == "killed"


def test_rows_with_syria_are_never_fitted_and_nested_totals_extend_their_parent():
    t = O.load_tallies()
    assert (t.loc[t["geography"] != "Iraq", "use"].isin(["syria_included", "fit"])).all()
    syria = t["geography"].str.contains("Syria")
    assert (t.loc[syria, "use"] == "syria_included").all()
    by_id = t.set_index("id")
    child = t[t["nested_in"] != ""]
    assert len(child) > 0
    for r in child.itertuples():
        parent = by_id.loc[r.nested_in]
        # same counter, rule, targets and geography; same start; later end; not smaller
        assert parent["counter_id"] == r.counter_id, r.id
        assert parent["rule"] == r.rule and parent["targets"] == r.targets, r.id
        assert parent["geography"] == r.geography, r.id
        assert parent["start"] == r.start and parent["end"] <= r.end, r.id
        if parent["bound"] == "exact" and r.bound == "exact":
            assert parent["count"] <= r.count, r.id


def test_load_tallies_rejects_an_unknown_target(tmp_path):
    text = (
        (O.DATA_DIR / "tallies.csv")
        .read_text()
        .replace("us_base;us_embassy;convoy", "us_base;moon", 1)
    )
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match="moon"):
        O.load_tallies(p)


def test_observed_log_has_event_log_columns_and_sources():
    e = O.load_observed_events()
    for col in (*SCHEMA.names, "label", "source"):  # the event-log contract + provenance
        assert col in e.columns
    assert (e["run"] == -1).all()
    assert e["date"].is_monotonic_increasing
    assert (e["source"].str.len() > 0).all() and (e["label"].str.len() > 0).all()
    attacks = e[e["kind"] == "attack"]
    assert attacks["weapon"].isin(V.WEAPONS).all()
    assert attacks["target"].dropna().isin(V.TARGETS).all()
    strikes = set(e.loc[e["kind"] == "us_strike", "date"].dt.strftime("%Y-%m-%d"))
    # the strikes the historical scenario forces, and the 2 Feb 2024 strikes (85 targets)
    assert {"2019-12-29", "2020-01-03", "2020-03-12", "2021-02-25", "2021-06-27"} <= strikes
    assert "2024-02-02" in strikes
    assert e.loc[e["date"] == "2019-10-01", "day"].empty
    assert int(e.loc[e["label"].str.startswith("K-1"), "day"].iloc[0]) == 87


# --- tally ---------------------------------------------------------------------------------------


def _log(rows):
    cols = ["run", "date", "kind", "weapon", "target", "killed"]
    df = pd.DataFrame(rows, columns=cols)
    df["date"] = pd.to_datetime(df["date"])
    return df


HAND = _log(
    [
        (0, "2020-01-01", "attack", "rocket", "us_base", 0),
        (0, "2020-01-10", "attack", "rocket", "us_embassy", 2),
        (0, "2020-01-10", "us_strike", None, None, 25),
        (0, "2020-01-31", "attack", "ied", "convoy", 1),
        (0, "2020-02-01", "attack", "rocket", "us_base", 4),
        (2, "2020-01-15", "attack", "rocket", "us_base", 0),
        (2, "2020-01-15", "attack", "small_arms", "activist", 1),
        (3, "2020-03-01", "directive", None, None, 0),
    ]
)


def test_tally_counts_matching_attacks_inclusive_window():
    s = O.tally(HAND, "rocket", ["us_base", "us_embassy"], "2020-01-01", "2020-01-31")
    assert s.to_dict() == {0: 2, 2: 1, 3: 0}
    s = O.tally(
        HAND,
        ["rocket", "ied"],
        ["us_base", "us_embassy", "convoy"],
        dt.date(2020, 1, 1),
        dt.date(2020, 2, 1),
    )
    assert s.to_dict() == {0: 4, 2: 1, 3: 0}


def test_tally_killed_sums_deaths_of_matching_attacks_only():
    s = O.tally(
        HAND,
        ["rocket", "ied"],
        ["us_base", "us_embassy", "convoy"],
        "2020-01-01",
        "2020-12-31",
        measure="killed",
    )
    assert s.to_dict() == {0: 7, 2: 0, 3: 0}  # the strike's 25 are not an attack


def test_tally_explicit_runs_include_runs_without_events():
    s = O.tally(HAND, "rocket", "us_base", "2020-01-01", "2020-12-31", runs=[5, 0, 1])
    assert list(s.index) == [0, 1, 5] and s.to_dict() == {0: 2, 1: 0, 5: 0}
    assert s.dtype == np.int64


def test_tally_rejects_unknown_measure():
    with pytest.raises(ValueError, match="measure"):
        O.tally(HAND, "rocket", "us_base", "2020-01-01", "2020-12-31", measure="wounded")


def test_tally_on_the_observed_log_known_answers():
    e = O.load_observed_events()
    us = ["us_base", "us_embassy", "convoy"]
    # T16's window: no documented rocket attack on the embassy (the truce)
    assert O.tally(e, "rocket", "us_embassy", "2020-10-11", "2020-11-16").tolist() == [0]
    # March 2020: Taji on the 11th and the 14th
    assert O.tally(e, "rocket", us, "2020-03-01", "2020-03-31").tolist() == [2]
    # September 2020: the rocket that killed five civilians near Baghdad airport
    assert O.tally(e, "rocket", us, "2020-09-01", "2020-09-30", "killed").tolist() == [5]
    # the convoy IEDs claimed by Ashab al-Kahf on 9 Dec 2021
    assert O.tally(e, "ied", "convoy", "2021-12-01", "2021-12-31").tolist() == [2]


def _frame(world, records, reps):
    return to_frame(records_to_table(world, records, reps))


def test_tally_matrix_agrees_with_tally_on_kernel_runs():
    world = compile_world(build())
    rec, reps = run_kernel(world, 4, 12)
    df = _frame(world, rec, reps)
    t = O.load_tallies().copy()
    # move the historical windows into the small scenario's year, keeping their order
    shift = t["start"].min() - pd.Timestamp("2020-01-01")
    t["start"] = t["start"] - shift
    t["end"] = (t["end"] - shift).clip(upper=pd.Timestamp("2020-12-31"))
    spec = O.compile_tallies(t, world.start)
    m = O.tally_matrix(rec, reps, 4, 12, spec)
    assert m.sum() > 0
    for i, (_, r) in enumerate(t.iterrows()):
        s = O.tally(
            df, r["weapons"], r["targets"], r["start"], r["end"], r["measure"], runs=range(4, 16)
        )
        np.testing.assert_array_equal(s.to_numpy(), m[:, i], err_msg=r["id"])


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.integers(0, 60),
            st.sampled_from([V.K_ATTACK, V.K_US_STRIKE]),
            st.integers(-1, 3),
            st.integers(-1, 5),
            st.integers(0, 3),
        ),
        max_size=60,
    ),
    lo=st.integers(0, 60),
    width=st.integers(0, 60),
    weapons=st.sets(st.sampled_from(V.WEAPONS), min_size=1),
    targets=st.sets(st.sampled_from(V.TARGETS), min_size=1),
    measure=st.sampled_from(O.MEASURES),
)
def test_tally_matrix_equals_tally_property(data, lo, width, weapons, targets, measure):
    world = compile_world(build())
    data = sorted(data)
    rec = np.zeros((len(data), L.N_ECOLS), dtype=np.int32)
    reps = np.array([d[0] for d in data], dtype=np.int64)
    for j, (_, day, kind, w, t, k) in enumerate(data):
        rec[j, L.E_DAY], rec[j, L.E_KIND], rec[j, L.E_KILLED] = day, kind, k
        rec[j, L.E_WEAPON], rec[j, L.E_TARGET] = w, t
        rec[j, L.E_ACTOR], rec[j, L.E_CLAIMED], rec[j, L.E_SUBJECT] = 0, -1, -1
    df = _frame(world, rec, reps)
    start = pd.Timestamp(world.start) + pd.Timedelta(days=lo)
    end = start + pd.Timedelta(days=width)
    t = pd.DataFrame(
        {
            "id": ["X"],
            "start": [start],
            "end": [end],
            "weapons": [tuple(weapons)],
            "targets": [tuple(targets)],
            "measure": [measure],
        }
    )
    m = O.tally_matrix(rec, reps, 0, 5, O.compile_tallies(t, world.start))
    s = O.tally(df, weapons, targets, start, end, measure, runs=range(5))
    np.testing.assert_array_equal(s.to_numpy(), m[:, 0])


# --- the observation model -----------------------------------------------------------------------


def test_approx_interval_is_plus_minus_twenty_percent():
    lo, hi = O.approx_interval(np.array([11, 30, 90, 0]))
    assert lo.tolist() == [9, 24, 72, 0] and hi.tolist() == [13, 36, 108, 0]


def test_lower_bound_below_all_simulated_mass_is_certain():
    lp = O.count_logprob(np.array([50.0]), np.array([60.0]), np.array([3]), np.array(["lower"]))
    assert lp[0] > -1e-9
    lp = O.count_logprob(np.array([5.0]), np.array([6.0]), np.array([60]), np.array(["lower"]))
    assert lp[0] < -30


def test_exact_and_approx_match_the_distributions():
    m, v = 8.0, 20.0
    size, p = m * m / (v - m), m / v
    lp = O.count_logprob(
        np.array([m, m, m]),
        np.array([v, m, v]),
        np.array([10, 10, 10]),
        np.array(["exact", "exact", "approx"]),
    )
    assert lp[0] == pytest.approx(stats.nbinom.logpmf(10, size, p))
    assert lp[1] == pytest.approx(stats.poisson.logpmf(10, m))  # no overdispersion: Poisson
    assert lp[2] == pytest.approx(np.log(stats.nbinom.pmf(np.arange(8, 13), size, p).sum()))


def test_exact_zero_with_all_zero_simulations_is_near_certain():
    lp = O.count_logprob(np.array([0.0]), np.array([0.0]), np.array([0]), np.array(["exact"]))
    assert lp[0] > -0.01
    lp = O.count_logprob(np.array([0.0]), np.array([0.0]), np.array([5]), np.array(["exact"]))
    assert lp[0] < -20


def test_consistency_rules():
    c = O.consistent(
        np.array([3, 3, 3, 3, 3]),
        np.array([8, 8, 8, 8, 8]),
        np.array([9, 10, 10, 11, 2]),
        np.array(["exact", "approx", "lower", "lower", "exact"]),
    )
    assert c.tolist() == [False, True, False, False, False]
    assert O.consistent(np.array([0]), np.array([8]), np.array([8]), np.array(["lower"]))[0]


def test_predictive_interval_of_poisson():
    lo, hi = O.predictive_interval(np.array([10.0]), np.array([10.0]))
    assert lo[0] == stats.poisson.ppf(0.05, 10) and hi[0] == stats.poisson.ppf(0.95, 10)


def test_crps_matches_the_expectation_formula():
    # CRPS = E|X - y| - E|X - X'| / 2 for X, X' iid from the forecast
    m = 3.0
    k = np.arange(60)
    pmf = stats.poisson.pmf(k, m)
    for y in (0, 3, 9):
        e1 = np.sum(pmf * np.abs(k - y))
        e2 = np.sum(pmf[:, None] * pmf[None, :] * np.abs(k[:, None] - k[None, :]))
        assert O.crps_count(np.array([m]), np.array([m]), np.array([y]))[0] == pytest.approx(
            e1 - e2 / 2, rel=1e-6
        )


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(0.0, 200.0),
    extra=st.floats(0.0, 500.0),
    count=st.integers(0, 300),
)
def test_observation_model_orderings(mean, extra, count):
    m, v = np.array([mean]), np.array([mean + extra])
    lp = {b: O.count_logprob(m, v, np.array([count]), np.array([b]))[0] for b in O.BOUNDS}
    assert all(O.LOG_FLOOR <= x <= 1e-12 for x in lp.values())
    # the +-20% interval contains the count, and "at least c" contains "exactly c"
    assert lp["approx"] >= lp["exact"] - 1e-9
    assert lp["lower"] >= lp["exact"] - 1e-9
    # a higher lower bound is never more probable
    higher = O.count_logprob(m, v, np.array([count + 5]), np.array(["lower"]))[0]
    assert higher <= lp["lower"] + 1e-9
