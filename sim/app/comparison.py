"""The Compare tab's work: a paired comparison on common random numbers, its figures, its export.

Each lever setting is run by ``sim.analysis.compare.run_comparison``, the function behind
``escsim compare``, into its own directory of the page's workspace (named by a hash of the
scenario files, replicates and seed, so going back to an earlier setting reuses it). The page
shows the figures of ``sim.report.figures`` drawn from that directory and exports it as it is:
``sim.report.plotting.plot_compare_dir`` adds the plots and ``brief.pdf`` exactly as the command
does, and every scenario sub-directory carries its ``manifest.json`` (``escsim replay`` repeats
it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import json
import os
import shutil
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.compare import (
    CONFIDENCE,
    DEFINITIONS,
    META_FILE,
    Comparison,
    compare_outcomes,
    difference_matrix,
    directory_names,
    level_matrix,
    load_runs,
    outcome_frame,
    run_comparison,
)
from sim.report.figures import annotate_events, fig_differences, fig_fans, fig_thresholds
from sim.report.rundata import RunData, load_run
from sim.report.style import workshop_style
from sim.results.files import link_or_copy
from sim.scenario import LoadedScenario

DEFAULT_RUNS = 300
MAX_SCENARIOS = 4
APP_ARGV = ["escsim", "app"]
FIGURE_DPI = 55
RECENT = 16
"""Comparisons kept in memory (the statistics and loaded runs of recent lever settings)."""
_recent: dict[Path, PageComparison] = {}
_finished: dict[tuple[str, int, int], Path] = {}
"""Finished scenario results of this server: (scenario hash, replicates, seed) -> directory."""
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

    @property
    def html(self) -> str:
        """The comparison tables of ``escsim compare`` as HTML (see ``comparison_html``)."""
        return comparison_html(self.comp)


def comparison_key(loaded: Sequence[LoadedScenario], runs: int, seed: int | None) -> str:
    """Return the name of the directory of a comparison: a hash of what determines it."""
    h = hashlib.sha256()
    for ls in loaded:
        h.update(ls.sha256.encode() + b"\0")
    h.update(f"{runs}\0{seed}".encode())
    return h.hexdigest()[:16]


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def run_page_comparison(
    loaded: Sequence[LoadedScenario],
    workspace: Path,
    runs: int = DEFAULT_RUNS,
    seed: int | None = None,
) -> PageComparison:
    """Run (or reuse) the paired comparison of scenarios in the page's workspace.

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
    out = Path(workspace) / "compare" / comparison_key(loaded, runs, seed)
    with _lock_for(out):
        if out in _recent:
            return dataclasses.replace(_recent[out], seconds=time.perf_counter() - t0, reused=True)
        reused = (out / META_FILE).exists()
        if not reused:
            _link_finished(loaded, out, runs, seed)
        if reused:
            meta = json.loads((out / META_FILE).read_text())
            frames = {
                s["name"]: outcome_frame(load_runs(out / s["dir"])) for s in meta["scenarios"]
            }
            comp = compare_outcomes(frames, int(meta["seed"]))
        else:
            # resume: scenarios linked from earlier comparisons are not run again
            comp = run_comparison(loaded, out, runs, seed=seed, resume=True, argv=APP_ARGV)
            meta = json.loads((out / META_FILE).read_text())
        for ls, s in zip(loaded, meta["scenarios"], strict=True):
            _finished[(ls.sha256, runs, int(meta["seed"]))] = out / s["dir"]
        loaded_runs = tuple(load_run(out / s["dir"], s["name"]) for s in meta["scenarios"])
        pc = PageComparison(out, comp, meta, loaded_runs, time.perf_counter() - t0, reused)
        _recent[out] = pc
        while len(_recent) > RECENT:
            _recent.pop(next(iter(_recent)))
    return pc


def comparison_html(comp: Comparison) -> str:
    """Return the two tables of ``escsim compare`` (levels, paired differences) as HTML.

    The cells are those of ``comparison.md`` (``level_matrix`` and ``difference_matrix``); the
    page shows HTML rather than Markdown because Solara's Markdown loads KaTeX from a CDN.
    """
    n = int(comp.table["n"].iloc[0]) if len(comp.table) else 0
    levels = pd.DataFrame(level_matrix(comp), columns=["outcome", *comp.names])
    parts = [
        f"<h4>Outcomes per scenario ({n} paired replicates; median [90% interval]; "
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
        for f in ("events.parquet", "runs.parquet", "manifest.json"):  # the manifest last
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


def page_figures(pc: PageComparison) -> dict[str, bytes]:
    """Return the Compare tab's figures as PNG: the fan charts and the threshold curves."""
    return {"fans": png(fig_fans_annotated(pc.runs)), "thresholds": png(fig_thresholds(pc.runs))}


def differences_figure(pc: PageComparison) -> bytes:
    """Return the distributions of paired differences (``fig_differences``) as PNG."""
    return png(fig_differences(pc.comp))


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
