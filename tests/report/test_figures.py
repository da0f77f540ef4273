"""Workshop figures: what they carry (labels, annotations, series) and the files they make."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from typer.testing import CliRunner

from sim.analysis.compare import compare_outcomes, outcome_frame, run_comparison
from sim.cli import app
from sim.report import figures, rundata, style
from sim.results.outcomes import METRICS
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

runner = CliRunner()


def fake_run(name="demo", n_runs=40, level=5.0, policy="2020-06-01", seed=0):
    start, end = pd.Timestamp("2019-10-01"), pd.Timestamp("2021-12-31")
    months = rundata.month_starts(start, end)
    rng = np.random.default_rng(seed)
    monthly = rng.poisson(level, (n_runs, len(months)))
    documented = pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2019-12-29", "2020-01-03", "2020-01-03", "2020-10-10", "2020-10-10", "2021-10-10"]
            ),
            "kind": [
                "us_strike",
                "us_strike",
                "decapitation",
                "truce_start",
                "truce_start",
                "election",
            ],
            "subject": ["KH", "KH", None, None, None, None],
            "detail": ["infrastructure", "leadership", None, "comply", "spoiler", None],
        }
    )
    return rundata.RunData(
        name=name,
        path=None,
        manifest={"scenario": {"text": f"name: {name}\ndescription: a test run\n"}},
        start=start,
        end=end,
        outcome_from=pd.Timestamp(policy) if policy else start,
        policy_start=pd.Timestamp(policy) if policy else None,
        runs=np.arange(n_runs),
        months=months,
        monthly=monthly,
        documented=documented,
    )


def fake_tallies():
    return pd.DataFrame(
        {
            "id": ["T01", "T02"],
            "start": pd.to_datetime(["2019-10-27", "2019-10-01"]),
            "end": pd.to_datetime(["2019-12-27", "2019-12-27"]),
            "count": [11, 10],
            "bound": ["exact", "lower"],
        }
    )


# --- data helpers ----------------------------------------------------------------------------


def test_monthly_counts_known_answer():
    # start 2020-01-30: days 0,1 are January, day 2 is 1 February, day 31 is 1 March
    days = np.array([0, 1, 2, 31, 2, 5])
    runs = np.array([0, 0, 0, 0, 2, 7])  # replicate 7 is not asked for: ignored
    m = rundata.monthly_counts(days, runs, np.array([0, 2]), pd.Timestamp("2020-01-30"), 40)
    assert m.tolist() == [[2, 1, 1], [0, 1, 0]]


def test_exceedance_is_the_survival_function():
    xs = np.array([0, 1, 2, 3])
    assert figures.exceedance(np.array([0, 1, 2, 3]), xs).tolist() == [0.75, 0.5, 0.25, 0.0]
    assert figures.exceedance(np.array([[5, 5], [5, 5]]), xs).tolist() == [1.0] * 4


def test_event_clusters_stack_labels_of_close_events():
    clusters = figures.event_clusters(fake_run().documented)
    assert [d.strftime("%Y-%m-%d") for d, _ in clusters] == [
        "2019-12-29",
        "2020-10-10",
        "2021-10-10",
    ]
    first = clusters[0][1].split("\n")
    assert first == [
        "US infrastructure strike on KH",
        "US leadership strike on KH",
        "command decapitated",
    ]
    assert clusters[1][1] == "truce"  # one label for the truce of every faction


def test_event_clusters_name_events_by_their_label_and_fall_back_to_the_kind():
    documented = fake_run().documented.assign(
        label=["US strikes KH (5 sites)", "Soleimani and Muhandis killed", "", "", "", ""]
    )
    clusters = figures.event_clusters(documented)
    assert clusters[0][1].split("\n") == [
        "US strikes KH (5 sites)",
        "Soleimani and Muhandis killed",
        "command decapitated",  # no label: its kind
    ]
    assert "US leadership strike on KH" not in "".join(c[1] for c in clusters)


def test_historical_labels_are_the_events_csv_labels_of_their_source_rows():
    """Each label of a historical inject that cites an events.csv row is that row's label."""
    import csv

    from tests.conftest import ROOT

    with open(ROOT / "calibration" / "data" / "events.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sc = load_scenario(SCENARIOS / "historical.yaml").scenario
    checked = 0
    for inj in sc.injects:
        assert inj.label, f"{inj.date} {inj.kind}: no label"
        kind = rundata.INJECT_EVENT_KIND.get(inj.kind, inj.kind)
        cited = f"events.csv {inj.date}" in inj.source
        same = [r for r in rows if r["date"] == str(inj.date) and r["kind"] == kind]
        if cited and same:
            assert inj.label in [r["label"] for r in same], (inj.date, inj.label)
            checked += 1
    assert checked >= 12


# --- figures -----------------------------------------------------------------------------------


def test_fan_chart_carries_bands_median_events_policy_and_tallies():
    run = fake_run()
    fig = figures.fig_fan(run, tallies=fake_tallies())
    ax = fig.axes[0]
    assert ax.get_ylabel() == style.Y_MONTHLY and ax.get_xlabel() == "Month"
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # 50% and 90%
    median = [ln for ln in ax.get_lines() if ln.get_label() == "simulated: median"]
    assert len(median) == 1
    np.testing.assert_allclose(median[0].get_ydata(), np.median(run.monthly, axis=0))
    events = [t for t in ax.texts if t.get_gid() == "documented-event"]
    assert len(events) == 3 and "command decapitated" in events[0].get_text()
    assert any(t.get_gid() == "policy-start" and "01 Jun 2020" in t.get_text() for t in ax.texts)
    tallies = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("tally-")]
    assert sorted(ln.get_gid() for ln in tallies) == ["tally-T01", "tally-T02"]
    t01 = next(ln for ln in tallies if ln.get_gid() == "tally-T01")
    assert t01.get_ydata()[0] == pytest.approx(11 / (62 / 30.4375))  # per month over 62 days
    legend = fig.axes[1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert "observed tally, lower bound" in labels and "simulated: 90% of replicates" in labels
    assert "observed tally, approximate" not in labels  # no approximate tally was drawn
    caption = next(t for a in fig.axes for t in a.texts if t.get_gid() == "caption")
    assert "rocket and IED attacks on every US target" in caption.get_text()


def test_fan_chart_without_tallies_has_no_tally_legend():
    fig = figures.fig_fan(fake_run(policy=None), tallies=pd.DataFrame())
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert not any("tally" in lab for lab in labels) and len(labels) == 3
    assert not any(t.get_gid() == "policy-start" for t in fig.axes[0].texts)


def test_side_by_side_fans_share_axes():
    runs = [fake_run("a", level=3), fake_run("b", level=9, seed=1), fake_run("c", seed=2)]
    fig = figures.fig_fans(runs)
    axes = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title(loc="left") for a in axes] == ["a", "b", "c"]
    assert all(axes[0].get_shared_y_axes().joined(axes[0], a) for a in axes[1:])
    assert all(axes[0].get_shared_x_axes().joined(axes[0], a) for a in axes[1:])
    assert len({a.get_ylim() for a in axes}) == 1
    for i, a in enumerate(axes):
        assert len([c for c in a.collections if isinstance(c, PolyCollection)]) == 2
        assert a.get_lines()[0].get_color() == style.OKABE_ITO[i]
    assert axes[0].get_ylabel() == style.Y_MONTHLY


def test_threshold_curves_one_per_scenario_in_each_panel():
    runs = [fake_run("a", level=3), fake_run("b", level=9, seed=1)]
    fig = figures.fig_thresholds(runs)
    ax_any, ax_max = fig.axes
    assert ax_any.get_ylabel() == "P(attacks in a month > x)"
    assert ax_max.get_ylabel() == "P(worst month > x)"
    assert len(ax_any.get_lines()) == 2 and len(ax_max.get_lines()) == 2
    # the curve of the typical month at x = 0 is the share of outcome-window months with attacks
    m = runs[0].monthly[:, runs[0].outcome_months]
    assert ax_any.get_lines()[0].get_ydata()[0] == pytest.approx((m > 0).mean())
    # the busier scenario's worst month exceeds any x at least as often
    y_a, y_b = (ln.get_ydata() for ln in ax_max.get_lines())
    assert np.all(y_b >= y_a)


def test_differences_figure_panels_and_series():
    rng = np.random.default_rng(0)

    def frame(shift):
        df = pd.DataFrame({"run": np.arange(50)})
        for m in METRICS:
            df[m] = rng.poisson(4 + shift, 50).astype(float)
        return outcome_frame(df)

    comp = compare_outcomes({"base": frame(0), "x": frame(3), "y": frame(-2)}, seed=0)
    fig = figures.fig_differences(comp)
    axes = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title(loc="left") for a in axes] == [
        "Attacks on US targets",
        "Attacks on the Iraqi state",
        "US deaths",
        "US strikes",
    ]
    for a in axes:
        assert len(a.patches) == 2  # one step histogram per non-base scenario
        assert a.get_xlabel().startswith("difference per replicate")
        zero = [ln for ln in a.get_lines() if list(ln.get_xdata()) == [0, 0]]
        assert len(zero) == 1
    # heights are shares of replicates per bin (weights 1/n), not densities: at most 1
    for patch in axes[0].patches:
        ys = patch.get_xy()[:, 1]
        assert ys.max() <= 1.0 and ys.max() > 0
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["x - base", "y - base"]


def test_save_figure_writes_png_svg_pdf(tmp_path):
    files = style.save_figure(figures.fig_thresholds([fake_run()]), tmp_path, "t")
    assert [f.name for f in files] == ["t.png", "t.svg", "t.pdf"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in files[1].read_bytes()[:500]
    assert files[2].read_bytes()[:5] == b"%PDF-"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


# --- from saved results --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    loaded = [load_scenario(SCENARIOS / f"{n}.yaml") for n in ("status_quo", "truce")]
    run_comparison(loaded, out, runs=15, seed=3)
    return out


def test_load_run_counts_attacks_on_us_targets(compare_dir):
    import pyarrow.parquet as pq

    run = rundata.load_run(compare_dir / "truce")
    ev = pq.read_table(compare_dir / "truce" / "events.parquet").to_pandas()
    us = ev[(ev["kind"] == "attack") & ev["target"].isin(["us_base", "us_embassy", "convoy"])]
    assert run.monthly.sum() == len(us)
    assert run.monthly.shape == (15, 27)
    assert run.policy_start == pd.Timestamp("2020-06-01")
    assert set(run.documented["kind"]) >= {"decapitation", "truce_start", "election"}
    labels = dict(
        zip(run.documented["date"].dt.strftime("%Y-%m-%d"), run.documented["label"], strict=True)
    )
    assert labels["2020-01-03"] in (
        "Soleimani and Muhandis killed",
        "Decapitation of IRGC-QF/PMF command",
    )
    assert labels["2020-06-01"] == ""  # the policy's own truce has no label: named by its kind
    assert labels["2021-10-10"] == "Parliamentary election"
    # observed tallies are drawn only where the run replays history (before the policy start)
    # and only those that count what the chart shows (rockets and IEDs on every US target)
    assert len(rundata.load_tallies_for(run)) == 0  # none of those ends before June 2020
    replay = dataclasses.replace(run, policy_start=None)
    kept = rundata.load_tallies_for(replay)
    assert {"T09", "T12", "T17"} <= set(kept["id"]) and not {"T01", "T10", "T16"} & set(kept["id"])
    for ws, ts in zip(kept["weapons"], kept["targets"], strict=True):
        assert {"rocket", "ied"} <= set(ws) and set(ts) == {"us_base", "us_embassy", "convoy"}


def test_plot_command_redraws_a_comparison_and_a_run(compare_dir):
    res = runner.invoke(app, ["plot", str(compare_dir)])
    assert res.exit_code == 0, res.output
    names = {p.name for p in (compare_dir / "plots").iterdir()}
    for stem in ("fans", "overlay", "thresholds", "differences", "fan_truce", "fan_status_quo"):
        assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf"} <= names
    assert (compare_dir / "brief.pdf").exists()
    res = runner.invoke(app, ["plot", str(compare_dir / "truce")])
    assert res.exit_code == 0, res.output
    assert (compare_dir / "truce" / "plots" / "fan.pdf").exists()


def test_plot_command_rejects_other_directories(tmp_path):
    res = runner.invoke(app, ["plot", str(tmp_path)])
    assert res.exit_code == 2 and "neither a results directory" in res.output
    res = runner.invoke(app, ["plot", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "not a directory" in res.output


def test_label_documented_matches_an_event_to_its_inject_by_date_kind_and_faction():
    text = (
        "name: t\nstart: 2020-01-01\nend: 2020-12-31\nfactions: [{name: A}, {name: B}]\n"
        "injects:\n"
        "  - {date: 2020-03-01, kind: truce, faction: A, label: A pauses}\n"
        "  - {date: 2020-03-01, kind: truce, faction: B, label: B pauses}\n"
        "  - {date: 2020-04-01, kind: us_strike, faction: B}\n"
        "policy:\n  start: 2020-05-01\n"
        "  injects: [{date: 2020-05-01, kind: arrest, faction: A, label: A raided}]\n"
    )
    documented = pd.DataFrame(
        {
            "date": pd.to_datetime(["2020-03-01", "2020-03-01", "2020-04-01", "2020-05-01"]),
            "kind": ["truce_start", "truce_start", "us_strike", "arrest"],
            "actor": ["B", "A", "US", "PM"],
            "subject": [None, None, "B", "A"],
            "detail": ["comply", "comply", "infrastructure", None],
        }
    )
    manifest = {"scenario": {"path": "t.yaml", "text": text}}
    out = rundata.label_documented(documented, manifest)
    assert list(out["label"]) == ["B pauses", "A pauses", "", "A raided"]
    assert list(out["own"]) == [False, False, False, True]  # the policy's own event
    # a manifest whose scenario cannot be rebuilt: no labels, events named by kind
    assert list(rundata.label_documented(documented, {})["label"]) == ["", "", "", ""]
