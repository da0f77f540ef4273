"""The workshop page served by ``escsim app``: Compare, One replicate and Export tabs.

* **Compare**: pick two to four scenarios, move their policy levers (``sim.app.levers``) and see,
  from the kernel with a few hundred paired replicates on common random numbers, the fan charts
  side by side with the documented events, the paired-difference table with its bootstrap
  intervals, the threshold curves and the distributions of paired differences: the figures and
  tables of ``escsim compare`` (``sim.app.comparison``). By default, as ``escsim compare``, the
  replicates also run over the posterior sample and the answer table comes first (difference at
  the fitted point with its Monte Carlo CI, total 90% interval over the posterior, P(lower)); a
  switch compares at the fixed (fitted) parameters only. The kernel runs off the UI thread.
* **One replicate**: Mesa's ``SolaraViz`` plays, pauses and steps one replicate of the Mesa
  engine (``sim.app.replicate``) with its DataCollector plots, the event feed in words and the
  causal chain of ``escsim explain``.
* **Export**: the current comparison as the results directory (zip) and ``brief.pdf`` that
  ``escsim compare`` writes, with the manifests ``escsim replay`` repeats.

Bad lever values show a message on the page; no input stops the server. Configuration comes from
the environment set by ``escsim app``: ``ESCSIM_APP_SCENARIOS`` (directory of scenario files),
``ESCSIM_APP_WORKSPACE`` (where results are written), ``ESCSIM_APP_RUNS`` (replicates) and
``ESCSIM_APP_POSTERIOR`` (the posterior sample; default ``calibration/posterior.parquet``).
"""

# Solara components are named like classes (CompareTab), as in Solara and Mesa.
# ruff: noqa: N802

from __future__ import annotations

import functools
import html
import logging
import os
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import solara
import solara.lab
from matplotlib.figure import Figure

from sim.analysis.compare import CompareError
from sim.analysis.explain import STYLES, format_explanation
from sim.analysis.posterior import DEFAULT_POSTERIOR, Posterior, PosteriorError, read_posterior
from sim.app.comparison import (
    DEFAULT_RUNS,
    MAX_SCENARIOS,
    PageComparison,
    comparison_with_figures,
    export_brief,
    export_zip,
)
from sim.app.levers import (
    LEVER_BY_KEY,
    LEVERS,
    LeverError,
    add_scenario_text,
    apply_levers,
    has_policy,
    lever_values,
)
from sim.app.replicate import (
    ReplicateModel,
    agency_directives,
    event_feed,
    event_log,
    explain_so_far,
    faction_grievance,
    model_series,
)
from sim.app.timing import stamp
from sim.model.world import compile_world
from sim.report.style import colour, workshop_style
from sim.runner import RunError
from sim.scenario import LoadedScenario, ScenarioError, load_scenario

log = logging.getLogger(__name__)

SCENARIOS_DIR = Path(os.environ.get("ESCSIM_APP_SCENARIOS", "scenarios"))
WORKSPACE = Path(os.environ.get("ESCSIM_APP_WORKSPACE") or tempfile.mkdtemp(prefix="escsim-app-"))
RUNS = int(os.environ.get("ESCSIM_APP_RUNS", DEFAULT_RUNS))
POSTERIOR_FILE = Path(os.environ.get("ESCSIM_APP_POSTERIOR", str(DEFAULT_POSTERIOR)))
DEFAULT_SELECTION = ("status_quo.yaml", "strong_us_retaliation.yaml", "truce.yaml")
KNOWN_ERRORS = (LeverError, CompareError, RunError, ScenarioError, PosteriorError)
BOLD = {"font-weight": "bold"}
TABLE_CSS = {"font-size": "15px", "overflow-x": "auto"}
TABLE_STYLE = (
    "<style>.escsim-table table{border-collapse:collapse;margin-bottom:8px}"
    ".escsim-table th,.escsim-table td{padding:3px 12px;border-bottom:1px solid #ddd;"
    "text-align:right}.escsim-table td:first-child,.escsim-table th:first-child"
    "{text-align:left}</style>"
)


# --- scenarios ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> LoadedScenario:
    return load_scenario(path)


def available_scenarios(directory: Path | None = None) -> tuple[dict[str, LoadedScenario], dict]:
    """Return the valid scenario files of ``directory`` (by file name) and the invalid ones.

    ``directory`` defaults to the page's scenario directory (``ESCSIM_APP_SCENARIOS``).

    Returns
    -------
    (dict, dict)
        File name -> LoadedScenario, and file name -> error message.
    """
    good: dict[str, LoadedScenario] = {}
    bad: dict[str, str] = {}
    for p in sorted(Path(directory or SCENARIOS_DIR).glob("*.yaml")):
        try:
            good[p.name] = _load_cached(str(p), p.stat().st_mtime)
        except ScenarioError as exc:
            bad[p.name] = str(exc)
    return good, bad


def scenario_with_levers(
    file: str, levers: dict[str, dict[str, Any]], scenarios: dict[str, LoadedScenario]
) -> LoadedScenario:
    """Return one scenario file's scenario with its levers applied (``sim.app.levers``).

    Raises
    ------
    LeverError
        If a lever value is refused.
    """
    ls = scenarios[file]
    values = levers.get(file, {})
    return apply_levers(ls, values, WORKSPACE) if values and has_policy(ls) else ls


def build_scenarios(
    files: list[str], levers: dict[str, dict[str, Any]], scenarios: dict[str, LoadedScenario]
) -> list[LoadedScenario]:
    """Return the selected scenarios with their levers applied (``sim.app.levers``).

    Raises
    ------
    LeverError
        If a lever value is refused, or fewer than two or more than four scenarios are chosen.
    """
    if not 2 <= len(files) <= MAX_SCENARIOS:
        raise LeverError(f"choose 2 to {MAX_SCENARIOS} scenarios; {len(files)} chosen")
    return [scenario_with_levers(f, levers, scenarios) for f in files]


# --- the Compare tab's computation (a thread) ---------------------------------------------------


@functools.lru_cache(maxsize=4)
def _read_posterior(path: str, mtime: float) -> Posterior:
    return read_posterior(Path(path))


def page_posterior() -> Posterior | None:
    """Return the page's posterior sample (``ESCSIM_APP_POSTERIOR``), or None if it is absent.

    Raises
    ------
    sim.analysis.posterior.PosteriorError
        If the file exists but cannot be used.
    """
    if not POSTERIOR_FILE.exists():
        return None
    return _read_posterior(str(POSTERIOR_FILE), POSTERIOR_FILE.stat().st_mtime)


def compute(
    files: list[str],
    levers: dict[str, dict[str, Any]],
    runs: int,
    extra: dict[str, LoadedScenario] | None = None,
    over_posterior: bool = False,
    differences: bool = False,
) -> tuple[PageComparison | None, dict[str, bytes], str]:
    """Run the comparison and draw its figures; return (comparison, PNGs, error message).

    ``over_posterior``: also run the replicates over the page's posterior sample (as
    ``escsim compare`` does by default); at the fixed (fitted) parameters only if it is False
    or there is no posterior file. ``differences``: also draw the distributions of paired
    differences (PNG "differences"). Known input errors come back as a message (never raised),
    so the page shows them; any other failure is logged and reported in one line, and the
    server keeps running.
    """
    try:
        stamp("compute start")
        scenarios, _ = available_scenarios()
        loaded = build_scenarios(files, levers, {**scenarios, **(extra or {})})
        posterior = page_posterior() if over_posterior else None
        stamp("scenarios built")
        pc, figs = comparison_with_figures(
            loaded, WORKSPACE, runs, posterior=posterior, differences=differences
        )
        stamp("comparison and figures done")
        return pc, figs, ""
    except KNOWN_ERRORS as exc:
        return None, {}, str(exc)
    except Exception as exc:  # noqa: BLE001 - a workshop page must survive any failure
        log.error("comparison failed:\n%s", traceback.format_exc())
        return None, {}, f"the comparison failed ({type(exc).__name__}: {exc})"


@solara.lab.task(prefer_threaded=True)
def compare_task(
    files: list[str],
    levers: dict[str, dict[str, Any]],
    runs: int,
    extra: dict[str, LoadedScenario],
    over_posterior: bool = False,
    differences: bool = False,
):
    """Background task of the Compare tab (the kernel and every figure run off the UI thread)."""
    t0 = time.perf_counter()
    pc, figs, error = compute(files, levers, runs, extra, over_posterior, differences)
    return pc, figs, error, time.perf_counter() - t0


# --- page state ---------------------------------------------------------------------------------

selection = solara.reactive(list(DEFAULT_SELECTION))
custom: solara.Reactive[dict[str, LoadedScenario]] = solara.reactive({})
lever_state: solara.Reactive[dict[str, dict[str, Any]]] = solara.reactive({})
tab_index = solara.reactive(0)
use_posterior = solara.reactive(True)
show_differences = solara.reactive(False)
"""The distributions of paired differences are drawn (with each comparison) once asked for."""
replicate_file = solara.reactive("")
replicate_index = solara.reactive(0)


def _set_lever(file: str, key: str, value: Any) -> None:
    stamp(f"lever {key}={value}")
    current = dict(lever_state.value)
    values = dict(current.get(file, {}))
    values[key] = value
    current[file] = values
    lever_state.value = current


def _reset_levers(file: str) -> None:
    current = dict(lever_state.value)
    current.pop(file, None)
    lever_state.value = current


# --- components ---------------------------------------------------------------------------------


@solara.component
def LeverPanel(file: str, loaded: LoadedScenario, index: int) -> None:
    """Show the levers of one chosen scenario, with its own values until moved."""
    sc = loaded.scenario
    with solara.Card(style={"min-width": "260px", "flex": "1"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>{html.escape(sc.name)}</b>",
            style={"color": colour(index), "font-size": "16px"},
        )
        solara.Text(sc.description[:160] + ("..." if len(sc.description) > 160 else ""))
        if not has_policy(loaded):
            solara.Info("No policy block: this scenario has no levers.")
            return
        own = lever_values(loaded)
        moved = lever_state.value.get(file, {})
        with solara.GridFixed(columns=2, row_gap="0px", column_gap="12px"):
            for lv in LEVERS:
                LeverInput(file, lv.key, moved.get(lv.key, own[lv.key]))
        if moved:
            solara.Button("Reset levers", text=True, on_click=lambda: _reset_levers(file))


@solara.component
def LeverInput(file: str, key: str, value: Any) -> None:
    """One lever's input: a choice, a check box, or text (numbers and dates)."""
    lv = LEVER_BY_KEY[key]

    def on_value(v: Any) -> None:
        _set_lever(file, key, v)

    if lv.kind == "choice":
        solara.Select(label=lv.label, value=value, values=list(lv.choices), on_value=on_value)
    elif lv.kind == "flag":
        solara.Checkbox(label=lv.label, value=bool(value), on_value=on_value)
    else:
        solara.InputText(label=lv.label, value=str(value), on_value=on_value)


@solara.component
def CompareTab() -> None:
    """Scenarios, levers, and the comparison's figures and table."""
    on_disk, bad = available_scenarios()
    scenarios = {**on_disk, **custom.value}
    files = [f for f in selection.value if f in scenarios]
    posterior_ok = POSTERIOR_FILE.exists()
    over = use_posterior.value and posterior_ok

    differences = show_differences.value

    def start() -> None:
        stamp("task called")
        compare_task(
            list(files), dict(lever_state.value), RUNS, dict(custom.value), over, differences
        )

    stamp("CompareTab render")
    solara.use_effect(
        start,
        [
            over,
            differences,
            tuple(files),
            repr(sorted((k, sorted(v.items())) for k, v in lever_state.value.items())),
            tuple(sorted((k, v.sha256) for k, v in custom.value.items())),
        ],
    )
    solara.SelectMultiple(
        "Scenarios (the first is the base of the differences)",
        values=files,
        all_values=list(scenarios),
        on_value=lambda v: selection.set(list(v)),
    )
    for name, message in bad.items():
        solara.Warning(f"{name} is not offered: {message}")
    if posterior_ok:
        solara.Switch(
            label="Over the posterior (off: at the fixed, fitted parameters only; faster)",
            value=use_posterior.value,
            on_value=use_posterior.set,
            classes=["escsim-posterior-switch"],
        )
    else:
        solara.Text(f"{POSTERIOR_FILE} not found: comparing at the fixed (fitted) parameters.")
    ScenarioEditor(on_disk)
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "stretch"}):
        for i, f in enumerate(files):
            LeverPanel(f, scenarios[f], i)
    running = compare_task.pending
    with solara.Column(gap="0px"):  # one slot: the widgets below keep their place when it fills
        if running:
            solara.ProgressLinear(True)
            solara.Text(
                "Running the paired replicates... (below: the previous comparison)",
                classes=["escsim-running"],
            )
    # while a comparison runs, the previous one stays on the page (the widgets are updated in
    # place when the new one arrives, not torn down and rebuilt); never a previous error
    result = compare_task.latest if running else compare_task.value
    if result is None or (running and result[2]):
        return
    pc, figs, error, seconds = result
    if error:
        solara.Error(error, classes=["escsim-error"])
        return
    assert pc is not None
    stamp("CompareTab render result")
    solara.Text(
        f"{pc.meta['runs']} paired replicates per scenario, seed {pc.meta['seed']}, kernel, "
        + (
            "over the posterior and at the fitted point"
            if pc.meta.get("posterior")
            else "at the fixed (fitted) parameters"
        )
        + f"; outcomes {pc.meta['outcome_from']} to {pc.meta['end']}; updated in {seconds:.1f} s"
        + (" (reused)" if pc.reused else "")
        + f"; comparison {pc.out.name}",
        classes=["escsim-status"],
    )
    solara.Image(figs["fans"], width="100%", classes=["escsim-fans"])
    solara.HTML(
        tag="div", unsafe_innerHTML=TABLE_STYLE + pc.html, classes=["escsim-table"], style=TABLE_CSS
    )
    solara.Image(figs["thresholds"], width="100%", classes=["escsim-thresholds"])
    if len(pc.comp.names) > 1:
        DifferencesFigure(figs.get("differences"))


@solara.component
def ScenarioEditor(on_disk: dict[str, LoadedScenario]) -> None:
    """Edit a scenario's YAML (or upload one) and add it to the scenarios offered."""
    start, set_start = solara.use_state("")
    text, set_text = solara.use_state("")
    message, set_message = solara.use_state("")

    def load_file(name: str) -> None:
        set_start(name)
        set_text(on_disk[name].text)

    def uploaded(info: dict) -> None:
        set_text(info["data"].decode("utf-8", errors="replace"))

    def add() -> None:
        try:
            loaded = add_scenario_text(text, list(on_disk.values()), WORKSPACE)
        except LeverError as exc:
            set_message(str(exc))
            return
        label = f"{loaded.scenario.name} (page)"
        custom.value = {**custom.value, label: loaded}
        files = [f for f in selection.value if f != label][: MAX_SCENARIOS - 1]
        selection.value = [*files, label]
        set_message("")

    with solara.Details("Edit or upload a scenario"):
        solara.Text(
            "Start from a file (or drop a YAML file), edit, and add it: it is checked like any "
            "scenario file and may `extends:` the files of scenarios/."
        )
        with solara.Row():
            solara.Select(
                "Start from a file", value=start, values=list(on_disk), on_value=load_file
            )
            solara.FileDrop(label="or drop a scenario file here", on_file=uploaded, lazy=False)
        solara.InputTextArea("Scenario YAML", value=text, on_value=set_text, rows=12)
        solara.Button("Add to the scenarios", on_click=add, disabled=not text.strip())
        if message:
            solara.Error(message, classes=["escsim-error", "escsim-editor-error"])


@solara.component
def DifferencesFigure(image: bytes | None) -> None:
    """Show, on request, the distributions of the paired differences.

    Asking for them sets ``show_differences``: the comparison task (reusing the comparison)
    draws them off the UI thread, and with every later comparison.
    """
    if image is None:
        solara.Button(
            "Show the distributions of paired differences",
            on_click=lambda: show_differences.set(True),
            disabled=show_differences.value,
        )
        return
    solara.Image(image, width="100%", classes=["escsim-differences"])


def _date_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))


def _figure(draw, title: str, ylabel: str) -> Figure:
    with workshop_style():
        fig = Figure(figsize=(9, 4.2), layout="constrained")
        ax = fig.add_subplot()
        draw(ax)
        ax.set_title(title, loc="left", fontsize=15)
        ax.set_ylabel(ylabel, fontsize=13)
        ax.tick_params(labelsize=11)
        _date_axis(ax)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=10, ncols=3, loc="upper left")
    return fig


def _show(fig: Figure) -> None:
    with workshop_style():
        solara.FigureMatplotlib(fig, format="png", dpi=60)


def CountsPlot(model: ReplicateModel) -> None:
    """Cumulative attacks on US targets and on the state, US strikes and arrests."""
    df = model_series(model).cumsum()
    labels = {
        "attacks_us": "attacks on US targets",
        "attacks_state": "attacks on the state",
        "us_strikes": "US strikes",
        "arrests": "arrests",
    }

    def draw(ax):
        for i, (key, label) in enumerate(labels.items()):
            ax.plot(df.index, df[key], color=colour(i), label=label, linewidth=2.5)

    _show(_figure(draw, "Since the start (cumulative)", "events"))


def StatePlot(model: ReplicateModel) -> None:
    """Truce state and the number of agencies directing escalation, per day."""
    df = model_series(model)

    def draw(ax):
        ax.step(df.index, df["truce_active"], where="post", color=colour(2), label="truce active")
        ax.step(
            df.index,
            df["directives_escalate"],
            where="post",
            color=colour(1),
            label="agencies directing escalation",
        )
        ax.set_ylim(-0.1, 4.6)

    _show(_figure(draw, "Truce and escalate directives", "count"))


def DirectivesPlot(model: ReplicateModel) -> None:
    """Each Iranian agency's directive per day (escalate or calm)."""
    d = agency_directives(event_log(model), model)

    def draw(ax):
        for i, name in enumerate(d.columns):
            ax.step(d.index, d[name] * 0.8 + i, where="post", color=colour(i), label=name)
        ax.set_yticks(range(len(d.columns)), list(d.columns), fontsize=10)

    _show(_figure(draw, "Directives per agency (raised: escalate)", ""))


def GrievancePlot(model: ReplicateModel) -> None:
    """Each faction's grievance (against the US and the state) per day."""
    g = faction_grievance(model)

    def draw(ax):
        for i, name in enumerate(g.columns):
            ax.plot(g.index, g[name], color=colour(i), label=name, linewidth=2.2)

    _show(_figure(draw, "Grievance per faction", "index"))


def FeedPanel(model: ReplicateModel) -> None:
    """Show the latest events in words and the causal chain of the largest escalation."""
    events = event_log(model)
    date = f"{model.date:%d %b %Y}" if model.date is not None else "before the first day"
    with solara.Column(classes=["escsim-feed"]):
        solara.Text(f"Day {model.day + 1} of {model.world.n_days}: {date}", style=BOLD)
        lines = event_feed(events)
        if not lines:
            solara.Text("No events yet: press Step or play.")
        for when, kind, text in lines:
            solara.Text(f"{when}: {text}", style={"color": _css(STYLES.get(kind, ""))})
        ex = explain_so_far(model, events)
        solara.Text("Why: the largest escalation so far (as escsim explain tells it)", style=BOLD)
        if ex is None:
            solara.Text("The outcome window has not started yet.")
        else:
            solara.Preformatted("\n".join(t for t, _ in format_explanation(ex)))


def _css(rich_style: str) -> str:
    """Return a CSS colour for a rich style of ``escsim explain`` ("bold blue" -> "blue")."""
    words = [w for w in rich_style.split() if w not in ("bold", "dim", "underline")]
    return {"yellow": "#B8860B", "magenta": "#AA3377", "cyan": "#008B8B"}.get(
        words[0] if words else "", words[0] if words else "inherit"
    )


@solara.component
def ReplicateTab() -> None:
    """Mesa's SolaraViz playing one replicate of a chosen scenario (with its levers)."""
    from mesa.visualization import SolaraViz, make_plot_component

    on_disk, _ = available_scenarios()
    scenarios = {**on_disk, **custom.value}
    files = [f for f in selection.value if f in scenarios] or list(scenarios)
    file = replicate_file.value if replicate_file.value in files else files[0]
    with solara.Row():
        solara.Select("Scenario", value=file, values=files, on_value=replicate_file.set)
        solara.InputInt("Replicate", value=replicate_index.value, on_value=replicate_index.set)
    try:
        if replicate_index.value < 0:
            raise LeverError(f"Replicate: expected an index >= 0; found {replicate_index.value}")
        loaded = scenario_with_levers(file, lever_state.value, scenarios)
    except KNOWN_ERRORS as exc:
        solara.Error(str(exc), classes=["escsim-error"])
        return
    world = compile_world(loaded.scenario)
    rep = replicate_index.value
    model = solara.use_memo(lambda: ReplicateModel(world, rep), [loaded.sha256, rep])
    solara.Text(
        f"{loaded.scenario.name}, replicate {rep}: the Mesa engine, same draws as replicate {rep} "
        "of the Compare tab. Step, or set the render interval to move several days at a time."
    )
    components = [
        CountsPlot,
        make_plot_component(["truce_active", "directives_escalate"]),
        DirectivesPlot,
        GrievancePlot,
        FeedPanel,
    ]
    SolaraViz(
        model,
        components=components,
        model_params={"world": world, "rep": rep},
        name=f"escsim: one replicate of {loaded.scenario.name}",
        play_interval=150,
    ).key(f"viz-{loaded.sha256}-{rep}")


@solara.component
def ExportTab() -> None:
    """Offer the current comparison: results directory (zip) and brief PDF."""
    result = compare_task.value
    if result is None or result[0] is None:
        solara.Info("Run a comparison on the Compare tab first.")
        return
    pc = result[0]
    names = ", ".join(pc.comp.names)
    solara.Text(
        f"The comparison of {names} ({pc.meta['runs']} paired replicates, seed "
        f"{pc.meta['seed']}) as `escsim compare` writes it: a folder per scenario with "
        "events.parquet, runs.parquet and manifest.json; comparison.csv, "
        "comparison.md, comparison.json, plots/ and brief.pdf. Repeat a scenario with "
        "escsim replay <folder>/<scenario>."
    )
    solara.FileDownload(
        lambda: export_zip(pc),
        filename=f"escsim-compare-{pc.out.name}.zip",
        label="Download the results directory (zip)",
        mime_type="application/zip",
    )
    solara.FileDownload(
        lambda: export_brief(pc),
        filename=f"escsim-brief-{pc.out.name}.pdf",
        label="Download the brief (PDF)",
        mime_type="application/pdf",
    )


@solara.component
def Page() -> None:
    """Show the workshop page: Compare, One replicate and Export tabs."""
    solara.Title("escsim workshop")
    with solara.lab.Tabs(value=tab_index.value, on_value=tab_index.set, lazy=True):
        with solara.lab.Tab("Compare"):
            CompareTab()
        with solara.lab.Tab("One replicate"):
            ReplicateTab()
        with solara.lab.Tab("Export"):
            ExportTab()
