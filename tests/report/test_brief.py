"""The one-page PDF brief: table, plots, definitions, one page."""

import dataclasses
import re

import numpy as np
import pandas as pd

from sim.analysis.compare import OUTCOMES, compare_outcomes, outcome_frame
from sim.report import brief
from sim.results.outcomes import METRICS
from tests.report.test_figures import fake_run


def comparison(names):
    rng = np.random.default_rng(0)
    frames = {}
    for i, n in enumerate(names):
        df = pd.DataFrame({"run": np.arange(40)})
        for m in METRICS:
            df[m] = rng.poisson(3 + i, 40).astype(float)
        frames[n] = outcome_frame(df)
    return compare_outcomes(frames, seed=1)


META = {
    "runs": 40,
    "seed": 1,
    "engine": "kernel",
    "outcome_from": "2020-06-01",
    "end": "2021-12-31",
}


def test_table_rows_levels_and_differences():
    comp = comparison(["a", "b"])
    head, rows = brief.brief_table_rows(comp)
    assert head == ["outcome", "a", "b", "b - a"]
    assert len(rows) == len(OUTCOMES) and all(len(r) == 4 for r in rows)
    assert rows[0][0] == "Attacks on US targets"
    assert re.fullmatch(r"[+-]\S+ \[[+-]\S+, [+-]\S+\]", rows[0][3])


def test_many_scenarios_share_cells():
    comp = comparison(["a", "b", "c", "d", "e"])
    head, rows = brief.brief_table_rows(comp)
    assert len(head) == 6 and head[1] == "a\n(base)" and head[2] == "b\n(- a)"
    assert all(len(r) == 6 for r in rows)
    assert rows[0][2].count("\n") == 1 and "\n" not in rows[0][1]


def test_brief_figure_holds_title_table_plots_and_definitions():
    comp = comparison(["a", "b"])
    runs = [fake_run("a"), fake_run("b", level=8, seed=1)]
    fig = brief.fig_brief(comp, META, runs)
    texts = [t.get_text() for t in fig.texts]
    assert texts[0] == "escsim brief: a vs b"
    assert any(t.startswith("a: a test run") for t in texts)  # scenario descriptions
    assert any("Escalation spiral" in t for t in texts)
    table_ax = fig.axes[0]
    tab = table_ax.tables[0]
    cells = tab.get_celld()
    assert max(r for r, _ in cells) == len(OUTCOMES) and max(c for _, c in cells) == 3
    assert cells[(0, 3)].get_text().get_text() == "b - a"
    assert cells[(1, 0)].get_text().get_text() == "Attacks on US targets"
    fan_ax, thr_ax = fig.axes[1], fig.axes[2]
    assert fan_ax.get_ylabel() == "Attacks on US targets per month"
    assert len([ln for ln in fan_ax.get_lines() if ln.get_label().endswith("median")]) == 2
    assert len(thr_ax.get_lines()) == 2 and thr_ax.get_ylim()[1] > 1


def test_write_brief_writes_one_pdf_page(tmp_path):
    comp = comparison(["a", "b", "c", "d"])
    runs = [fake_run(n, seed=i) for i, n in enumerate(comp.names)]
    path = brief.write_brief(comp, META, runs, tmp_path / "brief.pdf")
    data = path.read_bytes()
    assert data[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1
    assert not list(tmp_path.glob(".*tmp"))


def test_scenario_description_from_the_manifest():
    m = {"scenario": {"text": "name: x\ndescription: >-\n  two\n  lines\n"}}
    assert brief.scenario_description(m) == "two lines"
    assert brief.scenario_description({"scenario": {"text": ": : :"}}) == ""
    assert brief.scenario_description({}) == ""


def test_the_brief_names_the_events_kept_in_every_scenario_by_their_label():
    comp = comparison(["a", "b"])
    labelled = fake_run("a").documented.assign(label=["", "", "", "", "", "Parliamentary election"])
    runs = [
        dataclasses.replace(fake_run("a"), documented=labelled),
        dataclasses.replace(fake_run("b", seed=1), documented=labelled),
    ]
    fig = brief.fig_brief(comp, META, runs)
    (line,) = [t.get_text() for t in fig.texts if t.get_gid() == "brief-events"]
    assert line == (
        "Documented events forced in every scenario in the window: 10 Oct 2020 truce; "
        "10 Oct 2021 Parliamentary election."
    )  # events before the window (2020-06-01) are left out; no label: the kind
    own = labelled.assign(own=[False] * 5 + [True])  # the election forced by a policy
    assert "election" not in brief.kept_events_line(
        [runs[0], *[dataclasses.replace(runs[1], documented=own)]], "2020-06-01"
    )
    only_a = [dataclasses.replace(runs[1], documented=labelled.iloc[:0])]
    assert brief.kept_events_line([runs[0], *only_a], "2020-06-01") == ""


JARGON = [
    (r"\b(us|pm|iran|militia|truce|policy|factions|scale)\.[a-z_]+", "a parameter path"),
    (r"\b[a-z]+_[a-z0-9_]+\b", "a code identifier"),
    (r"\b[STA]\d{1,2}\b|\bS\d/S\d\b", "a source, tally or assumption id"),
    (r"log-odds|\bg_after\b|\binjects?\b|\bdoctrine\b|\bposterior\b", "model vocabulary"),
]


def test_the_brief_of_the_shipped_scenarios_speaks_plain_words():
    """Descriptions and event names as the brief shows them: no paths, identifiers or ids."""
    import re as _re

    from sim.scenario import load_scenario
    from tests.conftest import SCENARIOS

    base_text = (SCENARIOS / "status_quo.yaml").read_text()
    for path in sorted(SCENARIOS.glob("*.yaml")):
        loaded = load_scenario(path)
        sc = loaded.scenario
        documented = pd.DataFrame(
            {
                "date": pd.to_datetime([str(i.date) for i in sc.injects]),
                "kind": [{"truce": "truce_start"}.get(i.kind, i.kind) for i in sc.injects],
                "actor": [None] * len(sc.injects),
                "subject": [i.faction for i in sc.injects],
                "detail": [None] * len(sc.injects),
                "label": [i.label or "" for i in sc.injects],
            }
        )
        runs = [
            dataclasses.replace(
                fake_run("status_quo"),
                manifest={"scenario": {"text": base_text}},
                documented=documented,
            ),
            dataclasses.replace(
                fake_run(sc.name, seed=1),
                manifest={"scenario": {"text": path.read_text()}},
                documented=documented,
            ),
        ]
        fig = brief.fig_brief(comparison(["status_quo", sc.name]), META, runs)
        shown = [
            t.get_text() for t in fig.texts if t.get_gid() in ("brief-scenario", "brief-events")
        ]
        text = " ".join(shown)
        for name in ("status_quo", sc.name):
            text = text.replace(f"{name}:", "")
        for pattern, what in JARGON:
            found = _re.search(pattern, text)
            assert found is None, f"{path.name}: {what} in the brief: {found[0]!r}"
        # the whole description is on the page (two scenarios: up to two lines each)
        lines = " ".join(t.get_text() for t in fig.texts if t.get_gid() == "brief-scenario")
        assert f"{sc.name}: {brief.scenario_description(runs[1].manifest)}" in lines


def test_four_shipped_scenarios_show_their_whole_description_on_one_line_each():
    """With more than two scenarios the brief has one line per scenario: nothing is cut."""
    from tests.conftest import SCENARIOS

    names = ["status_quo", "strong_us_retaliation", "unified_iranian_command", "us_withdrawal"]
    runs = [
        dataclasses.replace(
            fake_run(n, seed=i),
            manifest={"scenario": {"text": (SCENARIOS / f"{n}.yaml").read_text()}},
        )
        for i, n in enumerate(names)
    ]
    fig = brief.fig_brief(comparison(names), META, runs)
    shown = [t.get_text() for t in fig.texts if t.get_gid() == "brief-scenario"]
    assert shown == [
        f"{n}: {brief.scenario_description(r.manifest)}" for n, r in zip(names, runs, strict=True)
    ]
