"""Draw every figure of a results or comparison directory (what ``escsim plot`` runs)."""

from __future__ import annotations

from pathlib import Path

from sim.report.figures import (
    fig_differences,
    fig_dot_whisker,
    fig_fan,
    fig_fans,
    fig_overlay,
    fig_thresholds,
    shared_top,
)
from sim.report.rundata import load_run
from sim.report.style import colour, save_figure


def plot_run_dir(path: Path) -> list[Path]:
    """Draw the figures of one results directory into ``path/plots``; return the files."""
    from sim.results.manifest import load_manifest

    load_manifest(Path(path))  # a damaged manifest: one error naming the field
    run = load_run(path)
    out = Path(path) / "plots"
    files = save_figure(fig_fan(run), out, "fan")
    files += save_figure(fig_thresholds([run]), out, "thresholds")
    return files


def plot_compare_dir(path: Path) -> list[Path]:
    """Draw the figures and the brief of a comparison directory; return the files.

    Writes ``plots/fan_<scenario>`` (on one y-scale), ``plots/fans``, ``plots/overlay``,
    ``plots/differences``, ``plots/change`` (dot and whisker), ``plots/thresholds`` (each PNG,
    SVG and PDF) and ``brief.pdf``.
    """
    from sim.analysis.compare import load_comparison
    from sim.report.brief import write_brief

    path = Path(path)
    from sim.results.manifest import load_manifest

    comp, meta = load_comparison(path)
    for s in meta["scenarios"]:
        load_manifest(path / s["dir"])
    runs = [load_run(path / s["dir"], s["name"]) for s in meta["scenarios"]]
    out = path / "plots"
    files = []
    top = shared_top(runs)  # separate fan files share their y-limits
    for i, run in enumerate(runs):
        files += save_figure(fig_fan(run, col=colour(i), top=top), out, f"fan_{run.name}")
    files += save_figure(fig_fans(runs), out, "fans")
    files += save_figure(fig_overlay(runs), out, "overlay")
    files += save_figure(fig_thresholds(runs), out, "thresholds")
    if len(runs) > 1:
        files += save_figure(fig_differences(comp), out, "differences")
        files += save_figure(fig_dot_whisker(comp), out, "change")
    files.append(write_brief(comp, meta, runs, path / "brief.pdf"))
    return files
