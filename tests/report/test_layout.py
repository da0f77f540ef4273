"""Figures fit for a room: rendered for 2 to 7 scenarios, no two texts overlap (issue 16 item 6).

Each figure is drawn with Agg and every visible text (titles, tick labels, axis labels, legend
entries, annotations, table cells) is measured with ``get_window_extent``; two boxes that
intersect by more than a pixel either way are a collision.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.table import Table
from matplotlib.text import Text

from sim.report import brief, figures, style
from sim.report.rundata import RunData

from .test_brief import META, comparison
from .test_figures import fake_run

NAMES = [
    "status_quo",
    "strong_us_retaliation",
    "unified_iranian_command",
    "us_withdrawal",
    "truce",
    "no_badr_disciplined_kh",
    "pm_drone_attack_response",
]


def runs_for(k: int, policy: str = "2020-06-01") -> list[RunData]:
    """Fake runs with long names, one level each."""
    return [fake_run(NAMES[i], level=3 + i, policy=policy, seed=i) for i in range(k)]


def text_boxes(fig) -> list[tuple[str, object]]:
    """Return (text, window extent) of every visible, non-empty text of a drawn figure."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = list(fig.findobj(Text))
    for table in fig.findobj(Table):  # a table's cells hold their texts outside findobj's reach
        texts += [cell.get_text() for cell in table.get_celld().values()]
    out = []
    for t in texts:
        if not t.get_visible() or not t.get_text().strip():
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        out.append((t.get_text(), t.get_window_extent(renderer)))
    return out


def overlaps(fig) -> list[tuple[str, str]]:
    """Return the pairs of texts whose boxes intersect (by more than one pixel each way)."""
    boxes = text_boxes(fig)
    bad = []
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if w > 1 and h > 1:
            bad.append((a, b))
    return bad


@pytest.mark.parametrize("k", range(2, 8))
def test_side_by_side_fans_have_no_colliding_text(k):
    assert overlaps(figures.fig_fans(runs_for(k))) == []


@pytest.mark.parametrize("k", range(2, 8))
def test_overlay_and_dot_whisker_have_no_colliding_text(k):
    assert overlaps(figures.fig_overlay(runs_for(k))) == []
    assert overlaps(figures.fig_dot_whisker(comparison(NAMES[:k]))) == []


@pytest.mark.parametrize("k", range(2, 8))
def test_brief_has_no_colliding_text(k):
    fig = brief.fig_brief(comparison(NAMES[:k]), META, runs_for(k))
    assert overlaps(fig) == []


def test_fan_with_events_near_the_policy_line_has_no_colliding_text():
    run = fake_run("status_quo", policy="2020-01-10")
    assert overlaps(figures.fig_fan(run, tallies=pd.DataFrame(columns=["bound"]))) == []


def test_overlay_bands_only_for_few_scenarios_and_the_partial_first_month():
    few = figures.fig_overlay(runs_for(3, policy="2020-06-15"))
    many = figures.fig_overlay(runs_for(4, policy="2020-06-15"))
    assert len(few.axes[0].collections) == 3 and len(many.axes[0].collections) == 0
    first = min(ln.get_xdata()[0] for ln in few.axes[0].get_lines())
    assert pd.Timestamp(first).month == 6  # June, though the policy starts on the 15th


def test_separate_fans_share_their_y_limits():
    runs = runs_for(3)
    top = figures.shared_top(runs)
    limits = {
        figures.fig_fan(r, tallies=pd.DataFrame(columns=["bound"]), top=top).axes[0].get_ylim()
        for r in runs
    }
    assert len(limits) == 1


def test_count_axes_tick_at_whole_numbers():
    fig = figures.fig_fans(runs_for(2))
    ticks = fig.axes[0].get_yticks()
    assert np.allclose(ticks, np.round(ticks))


def test_yellow_is_never_used_as_text():
    yellow = "#F0E442"
    assert style.colour(6) == yellow and style.text_colour(6) != yellow
    fig = brief.fig_brief(comparison(NAMES[:7]), META, runs_for(7))
    colours = {str(t.get_color()).upper() for t in fig.findobj(Text)}
    assert yellow not in colours


def test_dot_whisker_dots_match_the_table():
    comp = comparison(NAMES[:4])
    fig = figures.fig_dot_whisker(comp, keys=["attacks_us"])
    ax = fig.axes[0]
    row = comp.table.set_index(["outcome", "scenario"]).loc[("attacks_us", NAMES[1])]
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(dots) == 3
    top = max(dots, key=lambda ln: ln.get_ydata()[0])  # the first policy is drawn at the top
    assert top.get_xdata()[0] == pytest.approx(row["diff_mean"])


def test_brief_footnotes_are_true_for_different_intervention_dates():
    """Issue 16 item 3: outcomes from the earliest date; no footnote says 'the policy start'."""
    meta = {**META, "policy_starts": {NAMES[0]: "2020-06-01", NAMES[1]: "2020-09-01"}}
    runs = [fake_run(NAMES[0], policy="2020-06-01"), fake_run(NAMES[1], policy="2020-09-01")]
    fig = brief.fig_brief(comparison(NAMES[:2]), meta, runs)
    text = " ".join(t.get_text() for t in fig.findobj(Text))
    assert "intervention dates differ (status_quo 2020-06-01, strong_us_retaliation" in text
    assert "counted from 2020-06-01 to the end" in text
    assert "days from the policy start to" not in text
    assert overlaps(fig) == []
