"""One-page PDF brief of a comparison: the table and the key plots, for a workshop handout.

The page (A4 landscape) holds a title with the run's provenance, the comparison table (each
scenario's median and 90% interval, paired differences against the base with bootstrap
intervals), the scenarios' monthly attacks from the policy start (median and 50% band), the
worst-month exceedance curves, and the definitions. It is drawn from saved results only.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import yaml
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis.alternatives import DEPENDS
from sim.analysis.compare import (
    DEFINITIONS,
    OUTCOMES,
    Comparison,
    alternatives_verdicts,
    answer_matrix,
    difference_matrix,
    level_matrix,
)
from sim.report.figures import (
    EVENT_LABELS,
    draw_overlay,
    exceedance,
    threshold_grid,
    worst_months,
)
from sim.report.rundata import RunData
from sim.report.style import colour, text_colour
from sim.results.outcomes import OUTCOME_BY_KEY

A4_LANDSCAPE = (11.69, 8.27)
TABLE_NOTE = (
    "Levels: median [5%, 95%] over replicates; probabilities: % of replicates. Differences "
    "against the base: mean of the paired differences [95% bootstrap CI]; pp = percentage points."
)


def scenario_description(manifest: dict) -> str:
    """Return the description written in the scenario file recorded in a run's manifest."""
    try:
        doc = yaml.safe_load(manifest["scenario"]["text"])
    except (KeyError, yaml.YAMLError):
        return ""
    text = doc.get("description", "") if isinstance(doc, dict) else ""
    return " ".join(str(text).split())


def kept_events_line(runs: Sequence[RunData], outcome_from: str) -> str:
    """Return one sentence naming the documented events forced in every scenario of the window.

    A policy's own (hypothetical) events are left out.
    Each event is named by its inject's ``label:`` ("Parliamentary election"), else by its kind
    (``sim.report.figures.EVENT_LABELS``); "" if there is none.
    """
    import pandas as pd

    lo = pd.Timestamp(outcome_from)

    def named(run: RunData) -> dict:
        out = {}
        doc = run.documented
        for r in doc.sort_values("date", kind="stable").itertuples(index=False) if len(doc) else ():
            own = getattr(r, "label", "") or ""
            text = own or EVENT_LABELS.get(r.kind, "").format(
                subject=r.subject or "", detail=r.detail or ""
            )
            if r.date >= lo and text and not getattr(r, "own", False):  # documented ones only
                out.setdefault((r.date, text), None)
        return out

    if not runs:
        return ""
    common = [k for k in named(runs[0]) if all(k in named(r) for r in runs[1:])]
    if not common:
        return ""
    where = "every scenario" if len(runs) > 1 else "every replicate"
    items = "; ".join(f"{d:%d %b %Y} {t}" for d, t in common)
    return f"Documented events forced in {where} in the window: {items}."


SEPARATE_MAX = 3
"""Up to this many scenarios, differences get their own columns; beyond, they share the cell."""


POSTERIOR_NOTE = (
    "Levels: fitted point, median [5%, 95%]. Differences: posterior mean [total 90% over "
    "draws] % of draws lower / higher; fit (<= 2 scenarios): fitted-point mean [95% MC CI]. "
    "See comparison.md."
)


def posterior_difference_matrix(comp: Comparison, meta: dict) -> list[list[str]] | None:
    """Return difference cells over the posterior, or None for a fixed-parameter comparison.

    Each cell reads "mean over the posterior [total 90% interval] shares of draws lower /
    higher; fit fitted-point mean [MC 95% CI]" (the fit part with two scenarios only, for the
    page's width) (``comparison.json`` rows; see
    ``sim.analysis.compare.TOTAL_FOOTNOTE``, shortened on the page as ``POSTERIOR_NOTE``).
    """
    rows = meta.get("differences") or []
    if not meta.get("posterior") or not rows:
        return None
    by = {(r["outcome"], r["scenario"]): r for r in rows}
    _, cells = answer_matrix(meta)
    cell = {(r["outcome"], r["scenario"]): c for r, c in zip(rows, cells, strict=True)}
    out = []
    for o in OUTCOMES:
        line = [o.label]
        for name in comp.names[1:]:
            c = cell.get((o.key, name))
            if c is None or by[(o.key, name)]["difference_mean"] is None:
                line.append("-")
                continue
            fit = f"; fit {c[3]}" if len(comp.names) <= 2 else ""  # the page's width
            line.append(f"{c[2]} {c[4]} {c[5]}{fit}")
        out.append(line)
    return out


def answer_lines(meta: dict, outcome: str = "attacks_us") -> list[str]:
    """Return the brief's lead: one sentence per scenario on ``outcome`` against the reference.

    Over the posterior: the mean difference, its total 90% interval and the share of draws in
    which the scenario is lower; at a fixed point: the mean and its Monte Carlo CI, labelled.
    """
    lines = []
    for r in meta.get("differences") or []:
        if r["outcome"] != outcome or r["difference_mean"] is None:
            continue
        label = OUTCOME_BY_KEY[outcome].label
        head = f"{r['scenario']} vs {r['reference']}, {label}: {r['difference_mean']:+.3g}"
        if r["total_interval90"] is not None and r["p_scenario_lower"] is not None:
            lo, hi = r["total_interval90"]
            hi_share = r.get("p_scenario_higher")
            higher = "" if hi_share is None else f", higher in {100 * hi_share:.0f}%"
            lines.append(
                f"{head} (total 90% over draws {lo:+.3g} to {hi:+.3g}); "
                f"lower in {100 * r['p_scenario_lower']:.0f}% of draws{higher}."
            )
        else:
            lo, hi = r["mc_ci95"]
            lines.append(
                f"{head} (95% MC CI {lo:+.3g} to {hi:+.3g}) at the fitted point only: "
                "parameter uncertainty not included."
            )
    return lines


def _signed(x: float | None, kind: str) -> str:
    if x is None:
        return "-"
    return f"{100 * x:+.0f}pp" if kind == "share" else f"{x:+.0f}"


def structure_lines(meta: dict, width: int = 178, most: int = 2) -> list[str]:
    """Return the brief's lines on the structural alternatives (none when none were run).

    Each scenario pair whose sign on the headline outcome differs between the posterior and
    the alternatives gets "the answer depends on which structure is true" with its values.
    """
    alt = meta.get("alternatives")
    if not alt:
        return []
    names = ", ".join(s["name"] for s in alt["structures"])
    flips = [s for s in alt["signs"] if s["flips"]]
    if not flips:
        text = f"Structural alternatives ({names}): " + " ".join(alternatives_verdicts(meta))
    else:
        kind = OUTCOME_BY_KEY[alt["outcome"]].kind
        pairs = "; ".join(
            f"{s['b']} - {s['a']} "
            + " / ".join(_signed(v, kind) for v in s["difference_mean"].values())
            for s in flips
        )
        text = (
            f"{OUTCOME_BY_KEY[alt['outcome']].label} under {names}: {DEPENDS} for {pairs} "
            "(comparison.md)."
        )
    lines = textwrap.wrap(text, width)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] += " ... (comparison.md)"
    return lines


def brief_table_rows(
    comp: Comparison, meta: dict | None = None
) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the brief's table.

    Up to ``SEPARATE_MAX`` scenarios: a column per scenario (median [90% interval]) and a column
    per difference against the base. Beyond that, one column per scenario whose cell holds the
    level and, on a second line, the difference against the base, so the page stays legible.
    With a posterior in ``meta`` the difference cells are ``posterior_difference_matrix``'s.
    """
    levels = level_matrix(comp)
    diffs = (meta and posterior_difference_matrix(comp, meta)) or difference_matrix(comp)
    if len(comp.names) <= SEPARATE_MAX:
        head = ["outcome", *comp.names] + [f"{n} - {comp.base}" for n in comp.names[1:]]
        return head, [lv + df[1:] for lv, df in zip(levels, diffs, strict=True)]
    head = ["outcome", f"{comp.base}\n(base)"] + [f"{n}\n(- {comp.base})" for n in comp.names[1:]]
    rows = []
    for lv, df in zip(levels, diffs, strict=True):
        rows.append([lv[0], lv[1]] + [f"{a}\n{d}" for a, d in zip(lv[2:], df[1:], strict=True)])
    return head, rows


def dates_note(meta: dict) -> str:
    """Say where histories are shared: before the common policy start, or each scenario's own."""
    starts = meta.get("policy_starts") or {}
    if len(set(starts.values())) <= 1:
        return f"histories identical before {meta['outcome_from']}."
    own = ", ".join(f"{n} {d}" for n, d in starts.items())
    return (
        f"intervention dates differ ({own}): outcomes from the earliest; each scenario shares "
        "the history before its own date."
    )


def wrap_name(text: str, width: int) -> str:
    """Wrap a header (scenario names, "a - b") at underscores and spaces to ``width`` chars."""
    out = []
    for part in text.split("\n"):
        tokens = re.findall(r"[^_ ]+_*|[^_ ]*_+| ", part)
        line = ""
        for tok in tokens:
            if len(line) + len(tok) > width and line.strip():
                out.append(line.strip())
                line = ""
            line += tok
        if line.strip():
            out.append(line.strip())
    return "\n".join(out)


def fit_font_size(
    cells: list[list[str]], widths: list[float], width_in: float, size: float
) -> float:
    """Return the largest font size (at most ``size``, at least 5) at which every cell fits.

    A character is taken as 0.62 em wide (DejaVu Sans digits and lower case, bold headers).
    """
    fit = size
    for c, w in enumerate(widths):
        longest = max((len(line) for row in cells for line in str(row[c]).split("\n")), default=1)
        fit = min(fit, (w * width_in * 72 - 6) / (0.62 * max(longest, 1)))
    return max(5.0, round(fit * 2) / 2 - 0.5 if fit < size else size)


def fig_brief(comp: Comparison, meta: dict, runs: Sequence[RunData]) -> Figure:
    """Build the one-page brief as a single figure.

    Parameters
    ----------
    comp : Comparison
        The comparison statistics.
    meta : dict
        The comparison metadata (``comparison.json``).
    runs : sequence of RunData
        The scenarios' loaded results, in comparison order.

    Returns
    -------
    Figure
        An A4 landscape page: title, table, two plots, definitions.
    """
    fig = Figure(figsize=A4_LANDSCAPE)
    k = len(comp.names)
    names = " vs ".join(comp.names) if k <= 2 else f"{k} scenarios against {comp.base}"
    fig.text(
        0.03,
        0.965,
        f"escsim brief: {names}",
        fontsize=16,
        fontweight="bold",
        va="top",
        gid="brief-title",
    )
    fig.text(
        0.03,
        0.925,
        f"{meta['runs']:,} paired replicates per scenario (seed {meta['seed']}, engine "
        f"{meta['engine']}); outcomes counted {meta['outcome_from']} to {meta['end']}; "
        + dates_note(meta),
        fontsize=9.5,
        va="top",
    )
    y = 0.895
    for i, run in enumerate(runs):
        text = f"{run.name}: {scenario_description(run.manifest)}"
        lines = textwrap.wrap(text, 175)
        if k > 2 and len(lines) > 1:
            lines = textwrap.wrap(text, 172)[:1]
            lines[0] += " ..."
        for line in lines[:2]:
            fig.text(
                0.03, y, line, fontsize=8.5, va="top", color=text_colour(i), gid="brief-scenario"
            )
            y -= 0.024
    kept = kept_events_line(runs, meta["outcome_from"])
    kept_lines = textwrap.wrap(kept, 200)
    if len(kept_lines) > 2:
        kept_lines = [kept_lines[0], kept_lines[1] + " ..."]
    for line in kept_lines:
        fig.text(0.03, y, line, fontsize=7.5, va="top", color="0.25", gid="brief-events")
        y -= 0.02
    for line in answer_lines(meta):
        fig.text(0.03, y, line, fontsize=9, va="top", fontweight="bold", gid="brief-answer")
        y -= 0.024
    for line in structure_lines(meta):
        fig.text(0.03, y, line, fontsize=8, va="top", gid="brief-structures")
        y -= 0.02
    from sim.report.scoreboard import standing_line

    for line in textwrap.wrap(standing_line(), 190)[:2]:
        fig.text(0.03, y, line, fontsize=7, va="top", gid="brief-standing")
        y -= 0.018
    head, rows = brief_table_rows(comp, meta)
    n_cols = len(head)
    first = 0.24 if n_cols <= 4 else 0.16
    widths = [first] + [(1.0 - first) / (n_cols - 1)] * (n_cols - 1)
    chars = [max(8, int(w * 0.94 * A4_LANDSCAPE[0] * 72 / (0.62 * 8))) for w in widths]
    head = [head[0]] + [wrap_name(h, chars[c + 1]) for c, h in enumerate(head[1:])]
    top = y - 0.01
    two_line = k > SEPARATE_MAX
    table_bottom = 0.37 if two_line else 0.53
    plot_bottom = 0.14 if two_line else 0.165
    plot_height = table_bottom - plot_bottom - 0.065
    ax_t = fig.add_axes((0.03, table_bottom, 0.94, max(top - table_bottom, 0.2)))
    ax_t.axis("off")
    tab = ax_t.table(
        cellText=rows,
        colLabels=head,
        colWidths=widths,
        bbox=(0.0, 0.06 if two_line else 0.08, 1.0, 0.94 if two_line else 0.92),
        cellLoc="center",
        colLoc="center",
    )
    tab.auto_set_font_size(False)
    size = fit_font_size([head, *rows], widths, 0.94 * A4_LANDSCAPE[0], 9 if n_cols <= 4 else 8)
    tab.set_fontsize(size)
    lines = max(h.count("\n") + 1 for h in head)
    for (r, c), cell in tab.get_celld().items():
        if r == 0:
            cell.set_height(cell.get_height() * (1 + 0.8 * (lines - 1)))  # room for wrapped names
        cell.set_edgecolor("0.75")
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("0.92")
            if 1 <= c <= k:
                cell.get_text().set_color(text_colour(c - 1))
            elif c > k:
                cell.get_text().set_color(text_colour(c - k))
        if c == 0:
            cell.set_text_props(ha="left")
            cell.PAD = 0.02
    tab.set_gid("brief-table")
    note, note_size = TABLE_NOTE, 8
    if meta.get("posterior"):
        tab.set_fontsize(min(size, 6.5))
        note = POSTERIOR_NOTE
    ax_t.text(0.0, 0.0, note, fontsize=note_size, va="bottom", ha="left", transform=ax_t.transAxes)
    ax_f = fig.add_axes((0.07, plot_bottom, 0.50, plot_height))
    draw_overlay(ax_f, runs)
    ax_f.set_title(
        "Attacks on US targets per month from the policy start (median, 50% band)",
        fontsize=9.5,
        loc="left",
    )
    ax_f.set_xlabel("")
    if not two_line:
        medians = [ln for ln in ax_f.get_lines() if ln.get_label().endswith(": median")]
        ax_f.legend(
            medians,
            [ln.get_label().removesuffix(": median") for ln in medians],
            fontsize=8,
            loc="upper left",
            ncols=min(len(medians), 3),
            frameon=False,
        )
    ax_f.set_ylim(0, ax_f.get_ylim()[1] * 1.25)
    ax_p = fig.add_axes((0.65, plot_bottom, 0.32, plot_height))
    _worst_month(ax_p, runs)
    for ax in (ax_f, ax_p):
        ax.tick_params(labelsize=8)
        ax.xaxis.label.set_size(9)
        ax.yaxis.label.set_size(9)
        ax.grid(alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    definitions = DEFINITIONS
    if len(set((meta.get("policy_starts") or {}).values())) > 1:  # true for every scenario
        definitions = definitions.replace(
            "counted from the policy start", f"counted from {meta['outcome_from']}"
        ).replace("from the policy start to", "from the window start to")
    note = "\n".join(textwrap.wrap("Definitions: " + definitions, 190))
    fig.text(0.03, 0.015, note, fontsize=7, va="bottom", gid="brief-definitions")
    return fig


def _worst_month(ax, runs: Sequence[RunData]) -> None:
    """Draw P(worst month of the window > x) per scenario on ``ax``."""
    xs = threshold_grid(runs)
    for i, run in enumerate(runs):
        worst = worst_months(run)
        ax.step(
            xs, exceedance(worst, xs), where="post", color=colour(i), label=run.name, linewidth=2
        )
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 2.5 attacks
    ax.set_title(
        "Worst month of the window: P(attacks on US targets > x)", fontsize=9.5, loc="left"
    )
    ax.set_xlabel("x: attacks in the worst month")
    ax.set_ylabel("probability")


def write_brief(comp: Comparison, meta: dict, runs: Sequence[RunData], path: Path) -> Path:
    """Write the one-page brief to ``path`` (PDF, atomically) and return the path."""
    path = Path(path)
    fig = fig_brief(comp, meta, runs)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="pdf")
    os.replace(tmp, path)
    return path
