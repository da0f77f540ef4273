"""Monthly counts per counter: derived from monthly.csv, tally chains and documented events."""

import datetime as dt

import pandas as pd

from sim.analysis.forecast import monthly as M


def _tally(id_, start, end, count, bound="exact", nested_in="", counter="c"):
    return {
        "id": id_,
        "start": pd.Timestamp(start),
        "end": pd.Timestamp(end),
        "count": count,
        "bound": bound,
        "weapons": ("rocket",),
        "targets": ("us_base",),
        "measure": "attacks",
        "counter_id": counter,
        "nested_in": nested_in,
        "use": "fit",
    }


def test_chain_increments_give_calendar_months_only_where_the_dates_allow():
    t = pd.DataFrame(
        [
            _tally("A", "2023-10-01", "2023-10-31", 5),  # itself one calendar month
            _tally("B", "2023-10-01", "2023-11-30", 12, nested_in="A"),  # Nov = 7
            _tally("C", "2023-10-01", "2023-12-31", 15, "lower", nested_in="B"),  # Dec >= 3
            _tally("D", "2023-10-01", "2024-01-20", 20, nested_in="C"),  # parent lower: none
            _tally("E", "2023-10-01", "2024-02-29", 30, nested_in="D"),  # 01-21..02-29: none
            _tally("F", "2023-10-05", "2023-10-31", 2, counter="x"),  # not a whole month
        ]
    )
    m = M.from_tallies(t).set_index("id")
    assert set(m.index) == {"M:c:2023-10", "M:c:2023-11", "M:c:2023-12"}
    assert (m.loc["M:c:2023-11", "count"], m.loc["M:c:2023-11", "bound"]) == (7, "exact")
    assert (m.loc["M:c:2023-12", "count"], m.loc["M:c:2023-12", "bound"]) == (3, "lower")
    assert m.loc["M:c:2023-11", "start"] == pd.Timestamp("2023-11-01")
    assert m.loc["M:c:2023-11", "end"] == pd.Timestamp("2023-11-30")


def test_documented_attacks_are_lower_bounds_on_us_targets_only():
    ev = pd.DataFrame(
        {
            "date": ["2021-06-01", "2021-06-20", "2021-06-21", "2021-07-03", "2021-09-01"],
            "kind": ["attack", "attack", "attack", "us_strike", "attack"],
            "target": ["us_base", "convoy", "iraqi_state", "", ""],
            "weapon": ["rocket", "ied", "rocket", "", "drone"],
        }
    )
    m = M.from_events(ev, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert list(m["id"]) == ["M:events_documented:2021-06"]
    assert m["count"].tolist() == [2] and m["bound"].tolist() == ["lower"]
    assert set(m["targets"].iloc[0]) == {"us_base", "us_embassy", "convoy"}
    assert M.from_events(ev, dt.date(2021, 7, 1), dt.date(2021, 12, 31)).empty


def test_the_data_give_monthly_targets_of_every_source():
    m = M.all_months().set_index("id")
    # monthly.csv: model targets only (the launches at Israel have none)
    assert m.loc["M:dod_pentagon:2023-10", "count"] == 16
    assert not any(k.startswith("M:maariv") for k in m.index)
    # tallies: T10 is Talos's August 2020 count
    assert m.loc["M:talos:2020-08", ["count", "bound"]].tolist() == [13, "exact"]
    assert m.loc["M:talos:2020-08", "origin_of_row"] == "T10"
    # events.csv: documented attacks, lower bounds, no zero months
    doc = m[m["counter_id"] == M.DOCUMENTED]
    assert len(doc) > 10 and (doc["bound"] == "lower").all() and (doc["count"] > 0).all()
    assert not m.reset_index().duplicated(["counter_id", "start", "weapons", "targets"]).any()


def test_monthly_targets_lie_inside_the_horizon():
    m = M.monthly_targets(dt.date(2019, 10, 1), dt.date(2021, 12, 31))
    assert (m["start"] >= pd.Timestamp("2019-10-01")).all()
    assert (m["end"] <= pd.Timestamp("2021-12-31")).all()
    assert "M:events_documented:2022-01" not in set(m["id"])
