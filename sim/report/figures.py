"""Workshop figures drawn from saved results; this module never runs the model.

Every figure is a ``matplotlib.figure.Figure`` built without pyplot: no GUI backend is ever
loaded and no global figure state kept (PNG is rendered by Agg, SVG and PDF by their own
writers), and importing this module does not change a notebook's backend. Figures are returned
to the caller, so tests can inspect their axes, labels, annotations and series; ``save_figure``
writes each as PNG, SVG and PDF. Colours are the Okabe-Ito palette (safe for the common
colour-vision deficiencies; Okabe and Ito 2008, "Color Universal Design"), type is large and
lines are thick so the figures read on a projector.

Figures:

* ``fig_fan``: fan chart of monthly attacks on US targets (median, 50% and 90% bands) with the
  documented (forced) events annotated on the time axis and, for the stretch of a run that
  replays history, the observed tallies (``sim.analysis.observed``) overlaid as per-month rates;
* ``fig_fans``: the scenarios' fan charts side by side on shared axes;
* ``fig_differences``: distributions of paired differences against the base scenario;
* ``fig_thresholds``: probability that a month's attacks exceed x (a typical month, and the
  worst month of the outcome window).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator

from sim.report.rundata import RunData, load_tallies_for
from sim.report.style import OKABE_ITO, WIDE, Y_MONTHLY, colour, text_colour, workshop_style
from sim.results.outcomes import DIFFERENCE_PANELS, OUTCOME_BY_KEY

"""Okabe-Ito colours (blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow,
black) in the order scenarios are given them."""
EVENT_LABELS = {
    "us_strike": "US {detail} strike on {subject}",
    "decapitation": "command decapitated",
    "new_pm": "new PM",
    "arrest": "raid on {subject}",
    "release": "release ({subject})",
    "threat": "US threat",
    "truce_start": "truce",
    "truce_end": "truce ends",
    "election": "election",
    "negotiation": "Vienna talks",
    "attack": "forced attack",
}
"""Fallback names of forced events whose inject has no ``label:``."""


# --- drawing ------------------------------------------------------------------------------------


def _mid_month(months: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return months + pd.Timedelta(days=14)


def draw_fan(
    ax: Axes,
    months: pd.DatetimeIndex,
    counts: np.ndarray,
    col: str,
    label: str,
    bands: bool = True,
    band_90: bool = True,
) -> list:
    """Draw a fan chart (median line, 50% and 90% bands) of counts per month; return artists.

    Parameters
    ----------
    ax : Axes
        Target axes.
    months : DatetimeIndex
        First day of each month (columns of ``counts``).
    counts : ndarray (n_runs, n_months)
        Counts per replicate and month.
    col : str
        Colour.
    label : str
        Legend label of the median line.
    bands, band_90 : bool
        Draw the 50% band, and the 90% band.
    """
    x = _mid_month(months)
    q = np.quantile(counts, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    artists = []
    if bands and band_90:
        artists.append(
            ax.fill_between(
                x,
                q[0],
                q[4],
                color=col,
                alpha=0.18,
                linewidth=0,
                label=f"{label}: 90% of replicates",
            )
        )
    if bands:
        artists.append(
            ax.fill_between(
                x,
                q[1],
                q[3],
                color=col,
                alpha=0.38,
                linewidth=0,
                label=f"{label}: 50% of replicates",
            )
        )
    (line,) = ax.plot(x, q[2], color=col, label=f"{label}: median", solid_capstyle="round")
    artists.append(line)
    return artists


def _date_axis(ax: Axes, max_ticks: int = 10, span: tuple | None = None) -> None:
    """Month ticks that never collide: at most ``max_ticks`` labels, "Jan 2020" style.

    The step is the smallest of 1, 2, 3, 4, 6 or 12 months that keeps the ticks of ``span``
    (first and last date shown) within ``max_ticks``, e.g. quarters on a wide 27-month chart and
    half-years in a narrow panel.
    """
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    if span is None:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
        return
    lo, hi = pd.Timestamp(span[0]), pd.Timestamp(span[1])
    months = (hi.year - lo.year) * 12 + hi.month - lo.month + 1
    step = next((m for m in (1, 2, 3, 4, 6, 12) if months / m <= max_ticks), 12)
    margin = (hi - lo) * 0.03  # a label on the corner would meet the y-axis labels
    ticks = [
        d
        for d in pd.date_range(lo.to_period("M").to_timestamp(), hi, freq="MS")
        if (d.month - 1) % step == 0 and lo + margin <= d <= hi - margin
    ]
    ax.xaxis.set_major_locator(FixedLocator(mdates.date2num(ticks)))


def _count_axis(axis) -> None:
    """Ticks at whole numbers only on an axis of counts (no 2.5 or 7.5 attacks)."""
    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=3))


def event_clusters(documented: pd.DataFrame, gap_days: int = 12) -> list[tuple[pd.Timestamp, str]]:
    """Return (date, label) per cluster of documented events closer than ``gap_days``.

    An event is named by its inject's ``label:`` (the ``label`` column, e.g. "Soleimani and
    Muhandis killed"), else by its kind (``EVENT_LABELS``). One label per distinct (date, kind,
    subject) or label; labels of a cluster are stacked one per line (side by side once rotated).
    """
    if documented is None or len(documented) == 0:
        return []
    rows = []
    seen = set()
    for r in documented.sort_values("date", kind="stable").itertuples(index=False):
        own = getattr(r, "label", "") or ""
        key = (r.date, own) if own else (r.date, r.kind, r.subject)
        if key in seen or not (own or r.kind in EVENT_LABELS):
            continue
        seen.add(key)
        fallback = EVENT_LABELS.get(r.kind, "")
        rows.append(
            (r.date, own or fallback.format(subject=r.subject or "", detail=r.detail or ""))
        )
    clusters: list[tuple[pd.Timestamp, list[str]]] = []
    for date, label in rows:
        if clusters and (date - clusters[-1][0]).days <= gap_days:
            if label not in clusters[-1][1]:
                clusters[-1][1].append(label)
        else:
            clusters.append((date, [label]))
    return [(d, "\n".join(labels)) for d, labels in clusters]


def annotate_events(
    ax: Axes,
    documented: pd.DataFrame,
    fontsize: float = 13,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    avoid: pd.Timestamp | None = None,
) -> list:
    """Mark forced events on the time axis: a dotted line and a rotated label at the top.

    Events closer than the width of a label (from the axes' width and the horizon ``span``)
    share one label, so labels never overlap; a label near ``avoid`` (the policy line) is set
    on the side away from it.
    """
    out = []
    gap = 12
    if span is not None:
        width_in = ax.get_position().width * ax.figure.get_figwidth()
        days = max((span[1] - span[0]).days, 1)
        gap = max(12, math.ceil(days * (fontsize * 1.5 / 72) / max(width_in, 1.0)))
    for date, label in event_clusters(documented, gap_days=gap):
        ax.axvline(date, color="0.35", linestyle=":", linewidth=1.5, zorder=1)
        left = avoid is not None and 0 <= (avoid - date).days <= gap
        out.append(
            ax.annotate(
                label,
                xy=(date, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(-3 if left else 3, -6),
                textcoords="offset points",
                rotation=90,
                va="top",
                ha="right" if left else "left",
                fontsize=fontsize,
                color="0.2",
                gid="documented-event",
            )
        )
    return out


def mark_policy(ax: Axes, run: RunData, label: bool = True) -> None:
    """Shade the shared history before the policy start and mark the start."""
    if run.policy_start is None:
        return
    ax.axvspan(run.start, run.policy_start, color="0.85", alpha=0.5, zorder=0, linewidth=0)
    ax.axvline(run.policy_start, color="black", linewidth=2.5, zorder=2)
    if label:
        ax.annotate(
            f"policy from {run.policy_start:%d %b %Y}",
            xy=(run.policy_start, 0.5),
            xycoords=("data", "axes fraction"),
            xytext=(6, 0),
            textcoords="offset points",
            rotation=90,
            va="center",
            ha="left",
            fontsize=14,
            fontweight="bold",
            gid="policy-start",
        )


TALLY_STYLE = {"exact": "-", "approx": "--", "lower": "-"}


def draw_tallies(ax: Axes, tallies: pd.DataFrame) -> list:
    """Draw observed tallies as per-month rates over their windows (black, labelled by id).

    Each tally's count is divided by its window's length in months (30.44 days) and drawn as a
    horizontal segment over the window: solid for exact counts, dashed for approximate ones,
    solid with an upward triangle for lower bounds.
    """
    out = []
    for i, r in enumerate(tallies.itertuples(index=False)):
        months = ((r.end - r.start).days + 1) / 30.4375
        rate = r.count / months
        (seg,) = ax.plot(
            [r.start, r.end],
            [rate, rate],
            color="black",
            linestyle=TALLY_STYLE[r.bound],
            linewidth=2.5,
            zorder=4,
            gid=f"tally-{r.id}",
        )
        out.append(seg)
        mid = r.start + (r.end - r.start) / 2
        if r.bound == "lower":
            ax.plot([mid], [rate], marker="^", markersize=11, color="black", zorder=5)
        ax.annotate(
            r.id,
            xy=(mid, rate),
            xytext=(0, 5 + 15 * (i % 3)),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=11,
            zorder=5,
            gid="tally-label",
        )
    return out


def _tally_legend(bounds: set[str]) -> list:
    """Return legend handles for the tally bounds present (exact, approx, lower)."""
    styles = {
        "exact": ({"linestyle": "-"}, "observed tally, exact (count / months)"),
        "approx": ({"linestyle": "--"}, "observed tally, approximate"),
        "lower": (
            {"linestyle": "-", "marker": "^", "markersize": 11},
            "observed tally, lower bound",
        ),
    }
    return [
        Line2D([], [], color="black", linewidth=2.5, label=label, **kw)
        for bound, (kw, label) in styles.items()
        if bound in bounds
    ]


def _headroom(ax: Axes, top: float, factor: float = 1.55) -> None:
    ax.set_ylim(0, max(top, 1.0) * factor)


def fig_fan(
    run: RunData,
    tallies: pd.DataFrame | None = None,
    col: str = OKABE_ITO[0],
    top: float | None = None,
) -> Figure:
    """Fan chart of one run's monthly attacks on US targets.

    Parameters
    ----------
    run : RunData
        A loaded results directory.
    tallies : DataFrame, optional
        Observed tallies to overlay (default: ``load_tallies_for(run)``; pass an empty frame
        for none).
    col : str
        Colour of the fan.
    top : float, optional
        Upper y-limit before headroom (``shared_top`` of all scenarios, so separate fan files
        share their y-axis); default this run's own.

    Returns
    -------
    Figure
        One axes: fan, forced events on the time axis, the policy start, tallies.
    """
    if tallies is None:
        tallies = load_tallies_for(run)
    with workshop_style():
        fig = Figure(figsize=WIDE, layout="constrained")
        grid = fig.add_gridspec(3, 1, height_ratios=(12, 1.4, 0.9))
        ax = fig.add_subplot(grid[0])
        draw_fan(ax, run.months, run.monthly, col, "simulated")
        mark_policy(ax, run)
        annotate_events(ax, run.documented, span=(run.start, run.end), avoid=run.policy_start)
        handles = ax.get_legend_handles_labels()[0]
        if len(tallies):
            draw_tallies(ax, tallies)
            handles += _tally_legend(set(tallies["bound"]))
        _date_axis(ax, span=(run.start, run.end))
        ax.set_xlim(run.start, run.end)
        _headroom(ax, shared_top([run]) if top is None else top)
        _count_axis(ax.yaxis)
        ax.set_xlabel("Month")
        ax.set_ylabel(Y_MONTHLY)
        ax.set_title(
            f"{run.name}: attacks on US targets per month ({len(run.runs):,} replicates)",
            loc="left",
        )
        legend_ax = fig.add_subplot(grid[1])
        legend_ax.axis("off")
        legend_ax.legend(handles=handles, loc="center", ncols=3, frameon=False)
        note = "Dotted lines: events forced in every replicate (documented events"
        own = run.policy_start is not None and bool(
            len(run.documented) and (run.documented["date"] >= run.policy_start).any()
        )
        note += (
            "; from the policy start, the documented calendar the policy keeps and the events "
            "the scenario itself forces)."
            if own
            else ")."
        )
        if run.policy_start is not None:
            note += " Grey: history shared by every policy, before the policy start."
        if len(tallies):
            note += (
                " Black: observed tallies that count rocket and IED attacks on every US target,"
                " as count per month over their windows."
            )
        caption_ax = fig.add_subplot(grid[2])
        caption_ax.axis("off")
        caption_ax.text(
            0.0,
            0.5,
            "\n".join(textwrap.wrap(note, 170)),
            fontsize=12,
            va="center",
            ha="left",
            transform=caption_ax.transAxes,
            gid="caption",
        )
    return fig


def shared_top(runs: Sequence[RunData]) -> float:
    """Return the largest monthly 95% quantile of the runs (a common y-limit before headroom)."""
    return max(
        (float(np.quantile(r.monthly, 0.95, axis=0).max()) for r in runs if r.monthly.size),
        default=1.0,
    )


def fig_fans(runs: Sequence[RunData], ncols: int | None = None) -> Figure:
    """Scenario fan charts side by side on shared axes (one panel per scenario)."""
    k = len(runs)
    ncols = ncols or min(k, 3)
    nrows = math.ceil(k / ncols)
    top = shared_top(runs)
    with workshop_style():
        fig = Figure(figsize=(6.2 * ncols + 1, 6.0 * nrows + 0.8), layout="constrained")
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
        for i, run in enumerate(runs):
            ax = axes.flat[i]
            draw_fan(ax, run.months, run.monthly, colour(i), run.name)
            mark_policy(ax, run, label=False)
            ax.set_title("\n".join(textwrap.wrap(run.name, 28)), loc="left", color=text_colour(i))
            _date_axis(ax, max_ticks=5, span=(run.start, run.end))
            ax.set_xlim(run.start, run.end)
            ax.set_ylim(0, max(top, 1.0) * 1.05)
            _count_axis(ax.yaxis)
            if i % ncols == 0:
                ax.set_ylabel(Y_MONTHLY)
            if i // ncols == nrows - 1 or i + ncols >= k:
                ax.set_xlabel("Month")
                ax.xaxis.set_tick_params(labelbottom=True)
        for ax in axes.flat[k:]:
            ax.set_visible(False)
        fig.suptitle(
            "Attacks on US targets per month: median, 50% and 90% of replicates\n"
            "(grey: history shared before the policy start)",
            fontsize=18,
        )
    return fig


def fig_overlay(runs: Sequence[RunData], from_policy: bool = True) -> Figure:
    """All scenarios' medians and 50% bands on one axes (the outcome window by default)."""
    with workshop_style():
        fig = Figure(figsize=WIDE, layout="constrained")
        ax = fig.add_subplot()
        draw_overlay(ax, runs, from_policy)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.3)
        ax.legend(loc="upper left", ncols=2, framealpha=0.9)
        since = f" from {runs[0].outcome_from:%d %b %Y}" if runs and from_policy else ""
        what = "median and 50% of replicates" if len(runs) <= BAND_MAX else "medians"
        ax.set_title(f"Attacks on US targets per month{since}: {what}", loc="left")
    return fig


BAND_MAX = 3
"""Overlays of more scenarios draw medians only: overlapping bands mix into colours that are not
in the legend."""


def draw_overlay(ax: Axes, runs: Sequence[RunData], from_policy: bool = True) -> None:
    """Draw every scenario's median (and, for up to ``BAND_MAX`` scenarios, its 50% band).

    From the policy start, the month that holds it is drawn too (a partial month: its days
    before the start are the history every scenario shares).
    """
    bands = len(runs) <= BAND_MAX
    for i, run in enumerate(runs):
        mask = run.window_months if from_policy else np.ones(len(run.months), bool)
        draw_fan(
            ax,
            run.months[mask],
            run.monthly[:, mask],
            colour(i),
            run.name,
            bands=bands,
            band_90=False,
        )
    if runs:
        lo = min(r.months[r.window_months if from_policy else slice(None)][0] for r in runs)
        _date_axis(ax, max_ticks=8, span=(lo, max(r.end for r in runs)))
    _count_axis(ax.yaxis)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Month")
    ax.set_ylabel(Y_MONTHLY)


def exceedance(values: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Return P(value > x) for each x (the empirical survival function)."""
    v = np.sort(np.asarray(values).ravel())
    if v.size == 0:
        return np.full(len(xs), np.nan)
    return 1.0 - np.searchsorted(v, xs, side="right") / v.size


def fig_thresholds(runs: Sequence[RunData]) -> Figure:
    """Probability-of-threshold curves of monthly attacks on US targets, per scenario.

    Left: a typical month of the outcome window, P(attacks in a month > x), pooled over months
    and replicates. Right: the worst month, P(some month of the window has more than x attacks).
    """
    with workshop_style():
        fig = Figure(figsize=WIDE, layout="constrained")
        ax_any, ax_max = fig.subplots(1, 2, sharey=True)
        draw_thresholds(ax_any, ax_max, runs)
        ax_any.legend(loc="upper right", framealpha=0.9)
        first = runs[0] if runs else None
        if first is not None:
            fig.suptitle(
                f"How likely is a bad month? Attacks on US targets, full months from "
                f"{first.outcome_from:%d %b %Y} to {first.end:%d %b %Y}",
                fontsize=19,
            )
    return fig


def threshold_grid(runs: Sequence[RunData]) -> np.ndarray:
    """Return the thresholds x = 0 .. the largest monthly count in the runs' outcome months."""
    top = 1
    for run in runs:
        m = run.monthly[:, run.outcome_months]
        if m.size:
            top = max(top, int(m.max()))
    return np.arange(0, top + 1)


def worst_months(run: RunData) -> np.ndarray:
    """Return each replicate's largest monthly count in the outcome window."""
    m = run.monthly[:, run.outcome_months]
    return m.max(axis=1) if m.size else np.array([])


def draw_thresholds(ax_any: Axes, ax_max: Axes | None, runs: Sequence[RunData]) -> None:
    """Draw the typical-month (and, if ``ax_max``, worst-month) exceedance curves."""
    xs = threshold_grid(runs)
    for i, run in enumerate(runs):
        m = run.monthly[:, run.outcome_months]
        ax_any.step(xs, exceedance(m, xs), where="post", color=colour(i), label=run.name)
        if ax_max is not None:
            worst = worst_months(run)
            ax_max.step(xs, exceedance(worst, xs), where="post", color=colour(i), label=run.name)
    ax_any.set_title("A typical month", loc="left")
    ax_any.set_xlabel("x: attacks on US targets in a month")
    ax_any.set_ylabel("P(attacks in a month > x)")
    ax_any.set_ylim(0, 1.02)
    _count_axis(ax_any.xaxis)
    if ax_max is not None:
        _count_axis(ax_max.xaxis)
        ax_max.set_title("The worst month of the window", loc="left")
        ax_max.set_xlabel("x: attacks on US targets in a month")
        ax_max.set_ylabel("P(worst month > x)")
        ax_max.yaxis.set_tick_params(labelleft=True)


def fig_differences(comp, keys: Sequence[str] = DIFFERENCE_PANELS) -> Figure:
    """Distributions of paired differences (scenario - base) per replicate, one panel per outcome.

    Parameters
    ----------
    comp : sim.analysis.compare.Comparison
        A comparison of at least two scenarios.
    keys : sequence of str
        Keys of compared outcomes (default ``sim.results.outcomes.DIFFERENCE_PANELS``).

    Returns
    -------
    Figure
        One panel per outcome; one step histogram per non-base scenario, a black line at zero
        and a dashed line at each mean difference.
    """
    n = len(keys)
    ncols = 2 if n > 1 else 1
    nrows = math.ceil(n / ncols)
    with workshop_style():
        fig = Figure(figsize=(16, 5.0 * nrows + 1.2), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for p, key in enumerate(keys):
            ax = axes.flat[p]
            diffs = [comp.differences(name, key) for name in comp.names[1:]]
            allv = np.concatenate(diffs) if diffs else np.array([0.0])
            lo, hi = (np.floor(allv.min()), np.ceil(allv.max())) if allv.size else (0.0, 0.0)
            width = max(1.0, np.ceil((hi - lo + 1) / 60))
            bins = np.arange(lo - 0.5, hi + width + 0.5, width)
            for j, d in enumerate(diffs, start=1):
                if d.size == 0:
                    continue
                ax.hist(
                    d,
                    bins=bins,
                    weights=np.full(d.size, 1.0 / d.size),
                    histtype="step",
                    linewidth=3,
                    color=colour(j),
                    label=f"{comp.names[j]} - {comp.base}",
                )
                ax.axvline(d.mean(), color=colour(j), linestyle="--", linewidth=2.5)
            ax.axvline(0, color="black", linewidth=2)
            ax.set_title(OUTCOME_BY_KEY[key].label, loc="left")
            ax.set_xlabel(f"difference per replicate ({OUTCOME_BY_KEY[key].unit})")
            ax.set_ylabel("share of replicates" + (f" (bins of {width:g})" if width > 1 else ""))
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3))
        fig.suptitle(
            f"Paired differences against {comp.base} (same replicate, same random "
            "draws; dashed: mean)",
            fontsize=19,
        )
    return fig


def fig_dot_whisker(comp, keys: Sequence[str] | None = None) -> Figure:
    """Paired differences against the base: a dot (mean) and whisker (95% CI) per policy.

    One row per outcome, one dot per non-base scenario in its colour, a vertical line at zero;
    the chart policy audiences expect ("how much does each policy change each outcome?").

    Parameters
    ----------
    comp : sim.analysis.compare.Comparison
        A comparison of at least two scenarios.
    keys : sequence of str, optional
        Outcome keys (default: every outcome in the comparison table).

    Returns
    -------
    Figure
        One panel per outcome (its own unit on x), scenarios on y.
    """
    table = comp.table[comp.table["scenario"] != comp.base]
    keys = list(keys) if keys is not None else list(dict.fromkeys(table["outcome"]))
    others = list(comp.names[1:])
    n = len(keys)
    ncols = 2 if n > 3 else 1
    nrows = math.ceil(n / ncols)
    height = max(1.2, 0.42 * len(others) + 0.9)
    with workshop_style():
        fig = Figure(figsize=(16, height * nrows + 1.6), layout="constrained")
        fig.get_layout_engine().set(wspace=0.08)  # edge tick labels of neighbours stay apart
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for p, key in enumerate(keys):
            ax = axes.flat[p]
            rows = table[table["outcome"] == key].set_index("scenario")
            outcome = OUTCOME_BY_KEY.get(key)
            scale = 100.0 if outcome is not None and outcome.kind == "share" else 1.0
            for j, name in enumerate(others):
                if name not in rows.index:
                    continue
                r = rows.loc[name]
                y = len(others) - 1 - j
                mean, lo, hi = (scale * r[c] for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
                ax.errorbar(
                    [mean],
                    [y],
                    xerr=[[max(mean - lo, 0.0)], [max(hi - mean, 0.0)]],
                    fmt="o",
                    markersize=10,
                    capsize=6,
                    elinewidth=3,
                    color=colour(j + 1),
                    gid=f"dot-{key}-{name}",
                )
            ax.axvline(0, color="black", linewidth=1.5)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            values = scale * rows[["diff_ci_low", "diff_ci_high"]].to_numpy(float)
            if not np.nanmax(np.abs(values), initial=0.0) > 0:
                ax.set_xlim(-1, 1)  # no change at all: a readable axis around zero
            ax.set_yticks(range(len(others)))
            ax.set_yticklabels([textwrap.shorten(n_, 26) for n_ in reversed(others)], fontsize=13)
            for tick, j in zip(ax.get_yticklabels(), reversed(range(len(others))), strict=True):
                tick.set_color(text_colour(j + 1))
            ax.set_ylim(-0.6, len(others) - 0.4)
            label = outcome.label if outcome is not None else key
            unit = "percentage points" if scale == 100.0 else (outcome.unit if outcome else "")
            ax.set_title(label, loc="left", fontsize=16)
            ax.set_xlabel(f"difference ({unit})", fontsize=14)
            ax.grid(axis="y", visible=False)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        fig.suptitle(
            f"Change against {comp.base}: mean paired difference and 95% bootstrap interval",
            fontsize=19,
        )
    return fig
