"""The Compare tab's work: a paired comparison on common random numbers, its figures, its export.

Each lever setting is run by ``sim.analysis.compare.run_comparison``, the function behind
``escsim compare``, into its own directory of the page's workspace (named by a hash of the
scenario files, replicates and seed, so going back to an earlier setting reuses it). The page
shows the figures of ``sim.report.figures`` drawn from that directory and exports it as it is:
``sim.report.plotting.plot_compare_dir`` adds the plots and ``brief.pdf`` exactly as the command
does, and every scenario sub-directory carries its ``manifest.json`` (``escsim replay`` repeats
it).

A lever change reruns only the scenario it changed (the others are linked from the earlier
comparison, their runs read once, the changed one's documented events labelled from the scenario
in memory), and each figure is drawn as its own job of the figure executor (in the server: two
worker processes, so the fan charts, the threshold curves and the statistics run at once);
``sim.app.timing`` stamps each stage for ``benchmarks/app_latency.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import io
import json
import multiprocessing
import os
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.compare import (
    CONFIDENCE,
    DEFINITIONS,
    META_FILE,
    TOTAL_FOOTNOTE,
    Comparison,
    answer_matrix,
    check_windows,
    common_window,
    difference_matrix,
    directory_names,
    level_matrix,
    load_comparison,
    run_comparison,
)
from sim.analysis.posterior import Posterior
from sim.app.timing import stamp
from sim.report.figures import annotate_events, fig_differences, fig_fans, fig_thresholds
from sim.report.rundata import RunData, load_run
from sim.report.style import workshop_style
from sim.results.files import link_or_copy
from sim.scenario import LoadedScenario, Scenario

DEFAULT_RUNS = 300
MAX_SCENARIOS = 4
APP_ARGV = ["escsim", "app"]
FIGURE_DPI = 55
RECENT = 16
"""Comparisons kept in memory (the statistics and loaded runs of recent lever settings)."""
_recent: dict[Path, PageComparison] = {}
_finished: dict[tuple[str, int, int], Path] = {}
"""Finished scenario results of this server: (scenario hash, replicates, seed) -> directory."""
_run_data: dict[tuple[str, str], RunData] = {}
"""Loaded results by (manifest hash, name): a scenario unchanged by a lever is read once."""
_figures: dict[Path, dict[str, bytes]] = {}
"""The Compare tab's PNGs of recent comparisons (by directory)."""
_FIGURE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="escsim-figures")
FIGURE_PROCESS_ENV = "ESCSIM_APP_FIGURE_PROCESS"
"""Set to 1 (``escsim app`` does) to draw the Compare tab's figures in worker processes."""
FIGURE_WORKERS = int(os.environ.get("ESCSIM_APP_FIGURE_WORKERS", "2"))
"""Worker processes drawing figures (``ESCSIM_APP_FIGURE_WORKERS``, default 2: the fan charts
and the threshold curves at once; 1: one after the other)."""
RUNS_FIGURES = ("fans", "thresholds")
"""The Compare tab's figures drawn from the runs alone (``runs_figure``)."""
_figure_process: ProcessPoolExecutor | None = None
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class PageComparison:
    """A finished paired comparison: its directory, statistics, metadata and loaded runs."""

    out: Path
    comp: Comparison
    meta: dict
    runs: tuple[RunData, ...]
    seconds: float
    reused: bool

    @functools.cached_property
    def html(self) -> str:
        """The comparison tables of ``escsim compare`` as HTML (``comparison_html``), made once.

        The page renders a comparison several times (while the next one runs, it stays shown).
        """
        return comparison_html(self.comp, self.meta)


def comparison_key(
    loaded: Sequence[LoadedScenario],
    runs: int,
    seed: int | None,
    posterior: Posterior | None = None,
    per_draw: int = 1,
) -> str:
    """Return the name of the directory of a comparison: a hash of what determines it."""
    h = hashlib.sha256()
    for ls in loaded:
        h.update(ls.sha256.encode() + b"\0")
    h.update(f"{runs}\0{seed}".encode())
    if posterior is not None:  # fixed-parameter comparisons keep their earlier names
        h.update(f"\0posterior\0{posterior.path}\0{per_draw}\0".encode())
        h.update(hashlib.sha256(posterior.values.tobytes()).digest())
    return h.hexdigest()[:16]


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def run_page_comparison(
    loaded: Sequence[LoadedScenario],
    workspace: Path,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
    posterior: Posterior | None = None,
    per_draw: int = 1,
    on_runs: Callable[[tuple[RunData, ...]], None] | None = None,
) -> PageComparison:
    """Run (or reuse) the paired comparison of scenarios in the page's workspace.

    The scenarios' replicates are run first (a scenario run before with the same file, seed
    and replicates is linked, not run); ``on_runs`` is then called with their loaded results,
    so the page can draw the figures while the statistics (``run_comparison``: bootstrap
    intervals and, with a posterior, the posterior replicates) are computed.

    Parameters
    ----------
    loaded : sequence of LoadedScenario
        Two to four scenarios; the first is the base of the differences.
    workspace : Path
        The page's workspace; the comparison goes to ``workspace/compare/<key>``.
    runs : int
        Paired replicates per scenario.
    seed : int, optional
        Seed shared by the scenarios (default: the first scenario's).
    posterior : Posterior, optional
        Compare over this posterior sample too (``run_comparison``'s ``posterior``); None: at
        the fixed (fitted) parameters only.
    per_draw : int
        Replicates per posterior draw.
    on_runs : callable, optional
        Called once with the scenarios' loaded results, before the statistics.

    Returns
    -------
    PageComparison
        The comparison and the scenarios' loaded results.

    Raises
    ------
    sim.analysis.compare.CompareError
        If the scenarios cannot be paired (different horizons or outcome windows).
    sim.runner.RunError
        If a results directory cannot be written.
    """
    t0 = time.perf_counter()
    out = Path(workspace) / "compare" / comparison_key(loaded, runs, seed, posterior, per_draw)
    with _lock_for(out):
        if out in _recent:
            pc = dataclasses.replace(_recent[out], seconds=time.perf_counter() - t0, reused=True)
            if on_runs and out not in _figures:
                on_runs(pc.runs)
            return pc
        reused = (out / META_FILE).exists()
        names = directory_names(loaded)
        seed_ = loaded[0].scenario.seed if seed is None else seed
        if not reused:
            _run_scenarios(loaded, names, out, runs, seed_)
        windowed = common_window(loaded, check_windows(loaded)[1])
        loaded_runs = tuple(
            _load_run(out / n, n, ls.scenario) for n, ls in zip(names, windowed, strict=True)
        )
        stamp("runs loaded")
        if on_runs:
            on_runs(loaded_runs)
        if reused:
            comp, meta = load_comparison(out)
        else:
            # the scenario directories are complete: run_comparison checks and reuses them
            comp = run_comparison(
                loaded,
                out,
                runs,
                seed=seed,
                resume=True,
                argv=APP_ARGV,
                posterior=posterior,
                per_draw=per_draw,
            )
            meta = json.loads((out / META_FILE).read_text())
        stamp("statistics done")
        for ls, s in zip(loaded, meta["scenarios"], strict=True):
            _finished[(ls.sha256, runs, int(meta["seed"]))] = out / s["dir"]
        pc = PageComparison(out, comp, meta, loaded_runs, time.perf_counter() - t0, reused)
        _recent[out] = pc
        while len(_recent) > RECENT:
            _recent.pop(next(iter(_recent)))
    return pc


def _run_scenarios(
    loaded: Sequence[LoadedScenario], names: Sequence[str], out: Path, runs: int, seed: int
) -> None:
    """Run the scenarios of a new comparison into ``out``, linking those run before.

    They are run as ``run_comparison`` runs them (on the common outcome window), which then
    accepts the finished directories (``resume=True``) after checking their manifests.
    """
    from sim.runner import run_scenario

    _, outcome_from, _ = check_windows(loaded)  # CompareError before anything is run
    _link_finished(loaded, out, runs, seed)
    for ls, name in zip(common_window(loaded, outcome_from), names, strict=True):
        if not (out / name / "manifest.json").exists():
            run_scenario(ls, out / name, runs, seed=seed, resume=True, argv=APP_ARGV)
            stamp(f"ran {name}")


def _load_run(path: Path, name: str, scenario: Scenario | None = None) -> RunData:
    """Return ``load_run(path, name, scenario)``, reusing the data of an identical directory.

    Unchanged scenarios of a new comparison are hard links to the same results (the same
    manifest), so their figures' data are read once. ``scenario`` is the scenario the
    directory was run from: its injects label the documented events (``load_run`` would
    otherwise rebuild it from the manifest's files).
    """
    key = (hashlib.sha256((path / "manifest.json").read_bytes()).hexdigest(), name)
    with _locks_guard:
        hit = _run_data.get(key)
    if hit is not None:
        return hit
    data = load_run(path, name, scenario=scenario)
    with _locks_guard:
        _run_data[key] = data
        while len(_run_data) > 4 * RECENT:
            _run_data.pop(next(iter(_run_data)))
    return data


def comparison_html(comp: Comparison, meta: dict | None = None) -> str:
    """Return the tables of ``escsim compare`` as HTML.

    With a posterior (``meta["posterior"]``), first the answer over the posterior
    (``answer_matrix``: the difference at the fitted point with its Monte Carlo CI, the total
    90% interval over the posterior and P(lower)); then the levels and paired differences at
    the fitted point (``level_matrix``, ``difference_matrix``). The cells are those of
    ``comparison.md``; the page shows HTML rather than Markdown because Solara's Markdown loads
    KaTeX from a CDN.
    """
    n = int(comp.table["n"].iloc[0]) if len(comp.table) else 0
    parts = []
    if meta and meta.get("posterior") and meta.get("differences"):
        head, rows = answer_matrix(meta)
        post = meta["posterior"]
        parts += [
            f"<h4>The answer over the posterior against {html.escape(comp.base)} "
            f"({post['draws']} posterior draws, {post['replicates_per_draw']} replicate(s) "
            "per draw; the fitted point's mean with its Monte Carlo 95% CI)</h4>",
            pd.DataFrame(rows, columns=head).to_html(
                index=False, classes="escsim-answer", border=0
            ),
            f"<p style='font-size:85%'>{html.escape(TOTAL_FOOTNOTE)}</p>",
        ]
    levels = pd.DataFrame(level_matrix(comp), columns=["outcome", *comp.names])
    where = "at the fitted point; " if parts else ""
    parts += [
        f"<h4>Outcomes per scenario ({n} paired replicates {where}median [90% interval]; "
        "probabilities as % of replicates)</h4>",
        levels.to_html(index=False, classes="escsim-levels", border=0),
    ]
    if len(comp.names) > 1:
        head = ["outcome"] + [f"{name} - {comp.base}" for name in comp.names[1:]]
        diffs = pd.DataFrame(difference_matrix(comp), columns=head)
        parts += [
            f"<h4>Paired differences against {html.escape(comp.base)} (mean over replicates "
            f"[{CONFIDENCE:.0%} bootstrap CI]; pp = percentage points)</h4>",
            diffs.to_html(index=False, classes="escsim-differences", border=0),
        ]
    parts.append(f"<p style='font-size:85%'>Definitions: {html.escape(DEFINITIONS)}</p>")
    return "\n".join(parts)


def _link_finished(
    loaded: Sequence[LoadedScenario], out: Path, runs: int, seed: int | None
) -> None:
    """Link the finished results of scenarios run before into a new comparison directory.

    A lever change alters one scenario; the others are the same files with the same seed and
    replicates, so their results directories (event log, runs, manifest) are hard-linked from
    the earlier comparison, and ``run_comparison(..., resume=True)`` accepts them after checking
    their manifest (scenario hash, seed, engine, replicates, chunk size) against the plan.
    """
    seed = loaded[0].scenario.seed if seed is None else seed
    for ls, name in zip(loaded, directory_names(loaded), strict=True):
        src = _finished.get((ls.sha256, runs, seed))
        target = out / name
        if src is None or not (src / "manifest.json").exists() or target.exists():
            continue
        target.mkdir(parents=True)
        # every table of the run, the manifest last
        for f in ("events.parquet", "runs.parquet", "monthly.parquet", "manifest.json"):
            if not (src / f).exists():  # monthly.parquet: not written by every run
                continue
            if (src / f).is_dir():  # a table written as a directory of parts (sim.runner)
                shutil.copytree(src / f, target / f, copy_function=link_or_copy)
                continue
            try:
                os.link(src / f, target / f)
            except OSError:
                shutil.copy2(src / f, target / f)


def fig_fans_annotated(runs: Sequence[RunData]) -> Figure:
    """Return ``fig_fans`` with the documented events marked on every panel."""
    fig = fig_fans(runs)
    with workshop_style():
        axes = [ax for ax in fig.axes if ax.get_visible()]
        for ax, run in zip(axes, runs, strict=False):
            annotate_events(ax, run.documented, fontsize=8)
        if axes:
            lo, hi = axes[0].get_ylim()
            axes[0].set_ylim(lo, hi * 1.6)  # shared y: room for the labels above the fans
    return fig


def png(fig: Figure, dpi: int = FIGURE_DPI) -> bytes:
    """Render a figure as PNG bytes in the workshop style."""
    buf = io.BytesIO()
    with workshop_style():
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def runs_figure(name: str, runs: Sequence[RunData]) -> bytes:
    """Return one of the Compare tab's ``RUNS_FIGURES`` as PNG: "fans" or "thresholds"."""
    if name == "fans":
        image = png(fig_fans_annotated(runs))
    elif name == "thresholds":
        image = png(fig_thresholds(runs))
    else:
        raise ValueError(f"no figure '{name}' (expected one of {', '.join(RUNS_FIGURES)})")
    stamp(f"{name} drawn")
    return image


def runs_figures(runs: Sequence[RunData]) -> dict[str, bytes]:
    """Return the Compare tab's figures as PNG: the fan charts and the threshold curves."""
    return {name: runs_figure(name, runs) for name in RUNS_FIGURES}


def page_figures(pc: PageComparison) -> dict[str, bytes]:
    """Return the Compare tab's figures of a comparison (drawn once per comparison)."""
    figs = _figures.get(pc.out)
    if figs is None:
        figs = _FIGURE_THREAD.submit(runs_figures, pc.runs).result()
        _remember_figures(pc.out, figs)
    return figs


def _remember_figures(out: Path, figs: dict[str, bytes]) -> None:
    _figures[out] = figs
    while len(_figures) > RECENT:
        _figures.pop(next(iter(_figures)))


def figure_executor() -> Executor:
    """Return where the Compare tab's figures are drawn: worker processes or the figure thread.

    With ``ESCSIM_APP_FIGURE_PROCESS=1`` (the server) ``FIGURE_WORKERS`` worker processes draw
    them, one figure each at a time: they run while the statistics are computed, which a
    thread cannot (matplotlib and the kernel hold Python's global lock). Otherwise (tests, a
    notebook) one figure thread: matplotlib's style is global state of a process, which two
    drawings at once in one process would mix.
    """
    global _figure_process
    if os.environ.get(FIGURE_PROCESS_ENV) != "1" or multiprocessing.parent_process():
        return _FIGURE_THREAD  # (a worker process draws in its own thread)
    with _locks_guard:
        if _figure_process is None:
            _figure_process = ProcessPoolExecutor(
                max_workers=FIGURE_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return _figure_process


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """In a figure worker: exit as soon as the server that started it is gone.

    A server stopped by SIGTERM or SIGKILL never shuts its process pool down, and the worker
    would live on (re-parented); a daemon thread polls the parent's pid and ends the worker.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _drawn(future: Future, job: Callable[..., bytes], *args) -> bytes:
    """Return a figure job's PNG; draw it in the figure thread if the worker process died."""
    global _figure_process
    try:
        return future.result()
    except BrokenProcessPool:
        with _locks_guard:
            _figure_process = None  # new workers next time
        return _FIGURE_THREAD.submit(job, *args).result()


def comparison_with_figures(
    loaded: Sequence[LoadedScenario],
    workspace: Path,
    runs: int = DEFAULT_RUNS,
    posterior: Posterior | None = None,
    per_draw: int = 1,
    differences: bool = False,
) -> tuple[PageComparison, dict[str, bytes]]:
    """Run the comparison (``run_page_comparison``) and draw its figures at the same time.

    The fan charts and threshold curves need only the scenarios' runs: each is submitted to
    ``figure_executor()`` (two worker processes in the server, else one thread) as soon as the
    runs are loaded, and drawn while the statistics are computed. With ``differences``, the
    distributions of paired differences (``fig_differences``, which needs the statistics) are
    drawn there too, under the key "differences".
    """
    pending: dict[str, tuple[Future, tuple[RunData, ...]]] = {}

    def on_runs(loaded_runs: tuple[RunData, ...]) -> None:
        ex = figure_executor()
        for name in RUNS_FIGURES:
            pending[name] = (ex.submit(runs_figure, name, loaded_runs), loaded_runs)

    try:
        pc = run_page_comparison(
            loaded, workspace, runs, posterior=posterior, per_draw=per_draw, on_runs=on_runs
        )
    except BaseException:
        for f, _ in pending.values():
            f.cancel()
        raise
    figs = _figures.get(pc.out)
    todo = differences and (figs is None or "differences" not in figs)
    later = figure_executor().submit(differences_png, pc.comp) if todo else None
    if figs is None:
        if pending:
            figs = {n: _drawn(f, runs_figure, n, r) for n, (f, r) in pending.items()}
        else:
            figs = page_figures(pc)
    if later is not None:
        figs = {**figs, "differences": _drawn(later, differences_png, pc.comp)}
    _remember_figures(pc.out, figs)
    return pc, figs


def differences_png(comp: Comparison) -> bytes:
    """Return the distributions of paired differences (``fig_differences``) as PNG."""
    image = png(fig_differences(comp))
    stamp("differences drawn")
    return image


def differences_figure(pc: PageComparison) -> bytes:
    """Return the distributions of paired differences of a comparison as PNG."""
    return differences_png(pc.comp)


def ensure_plots(pc: PageComparison) -> Path:
    """Write the plots and ``brief.pdf`` of the comparison as ``escsim compare`` does."""
    from sim.report.plotting import plot_compare_dir

    with _lock_for(pc.out):
        if not (pc.out / "brief.pdf").exists():
            plot_compare_dir(pc.out)
    return pc.out / "brief.pdf"


def export_zip(pc: PageComparison) -> bytes:
    """Return the comparison directory (results, manifests, plots, brief) as a zip archive.

    The archive holds one folder, ``escsim-compare-<key>``, laid out as ``escsim compare --out``
    writes it; each scenario folder is a results directory that ``escsim replay`` repeats.
    """
    ensure_plots(pc)
    buf = io.BytesIO()
    root = f"escsim-compare-{pc.out.name}"
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(pc.out.rglob("*")):
            if path.is_file() and not path.name.endswith((".tmp", ".lock")):
                zf.write(path, f"{root}/{path.relative_to(pc.out).as_posix()}")
    return buf.getvalue()


def export_brief(pc: PageComparison) -> bytes:
    """Return the one-page brief (PDF) of the comparison, as ``escsim compare`` writes it."""
    return ensure_plots(pc).read_bytes()
