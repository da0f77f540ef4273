"""Analysis commands of escsim: ``compare``, ``plot`` and ``explain`` (see `sim.cli`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import ExecutorOption, SchedulerOption, WorkersOption


def _print_comparison(comp, meta: dict) -> None:
    """Print the comparison tables with rich."""
    from rich.table import Table

    from sim.analysis.compare import CONFIDENCE, difference_matrix, level_matrix
    from sim.cli.common import out

    n = meta["runs"]
    tab = Table(
        title=f"Outcomes {meta['outcome_from']} to {meta['end']}: median [90% interval]"
        f" over {n:,} paired replicates (probabilities: % of replicates)",
        title_justify="left",
    )
    tab.add_column("outcome", overflow="fold")
    for name in comp.names:  # long names wrap in their header; never cut at 80 columns
        tab.add_column(name, justify="right", overflow="fold")
    for row in level_matrix(comp):
        tab.add_row(*row)
    out.print(tab)
    from sim.report.scoreboard import standing_line

    out.print(standing_line(), markup=False, highlight=False)
    if len(comp.names) > 1:
        dif = Table(
            title=f"Paired differences against {comp.base}: mean [{CONFIDENCE:.0%} "
            "bootstrap CI] (pp = percentage points)",
            title_justify="left",
        )
        dif.add_column("outcome", overflow="fold")
        for name in comp.names[1:]:
            dif.add_column(f"{name} - {comp.base}", justify="right", overflow="fold")
        for row in difference_matrix(comp):
            dif.add_row(*row)
        out.print(dif)


def _print_answer(meta: dict) -> None:
    """Print the differences against the reference with both intervals side by side."""
    from rich.table import Table

    from sim.analysis.compare import TOTAL_FOOTNOTE, answer_matrix
    from sim.cli.common import out

    if not meta.get("differences"):
        return
    head, rows = answer_matrix(meta)
    tab = Table(
        title=f"Differences against {meta['base']} (parameters: {meta['parameters']})",
        title_justify="left",
        caption=TOTAL_FOOTNOTE,
        caption_justify="left",
    )
    for i, h in enumerate(head):  # fold, never cut, names and labels at 80 columns
        tab.add_column(h, justify="left" if i < 2 else "right", overflow="fold")
    for row in rows:
        tab.add_row(*row)
    out.print(tab)


def _choose_posterior(posterior: Path | None, fixed: bool):
    """Return (Posterior or None, note): the sample to draw from, or why there is none."""
    from sim.analysis.posterior import DEFAULT_POSTERIOR, read_posterior
    from sim.cli.common import out

    if fixed:
        return None, "--fixed-parameters"
    if posterior is None and not DEFAULT_POSTERIOR.exists():
        note = f"{DEFAULT_POSTERIOR} not found"
        out.print(
            f"{note}: comparing at the fixed (fitted) parameters only (run `escsim calibrate`, "
            "or pass --posterior FILE)",
            markup=False,
            highlight=False,
        )
        return None, note
    return read_posterior(posterior or DEFAULT_POSTERIOR), ""


def _choose_alternatives(path: Path | None, skip: bool, post, loaded):
    """Return the AlternativeSet to run (None: skipped, no file, or no posterior)."""
    from sim.analysis.alternatives import (
        DEFAULT_ALTERNATIVES,
        AlternativesError,
        AlternativeSet,
        read_alternatives,
    )
    from sim.analysis.design import parameter_catalogue
    from sim.cli.common import InputError, out

    if skip:
        return None
    if path is None and not DEFAULT_ALTERNATIVES.exists():
        return None
    path = path or DEFAULT_ALTERNATIVES
    try:
        items = read_alternatives(path, parameter_catalogue(loaded[0].scenario))
    except AlternativesError as exc:
        raise InputError(str(exc)) from None
    if post is None:
        out.print(
            f"{path}: structural alternatives need a posterior; not run (fixed parameters)",
            markup=False,
            highlight=False,
        )
        return None
    return AlternativeSet(str(path), items)


def _print_alternatives(meta: dict) -> None:
    """Print the answer under each structural alternative, if any was run."""
    from rich.markup import escape
    from rich.table import Table

    from sim.analysis.compare import (
        alternatives_matrix,
        alternatives_note,
        alternatives_verdicts,
    )
    from sim.cli.common import out

    table = alternatives_matrix(meta)
    if table is None:
        return
    head, rows = table
    tab = Table(
        title="The answer under each structural alternative",
        title_justify="left",
        caption=escape(alternatives_note(meta)),
        caption_justify="left",
    )
    for i, h in enumerate(head):
        tab.add_column(h, justify="right" if 0 < i < len(head) - 1 else "left", overflow="fold")
    for row in rows:
        tab.add_row(*(escape(c) for c in row))
    out.print(tab)
    for line in alternatives_verdicts(meta):
        out.print(line, markup=False, highlight=False)


def check_comparison_out(target: Path) -> None:
    """Refuse a comparison ``--out`` whose brief, plots or tables escsim cannot prove it wrote.

    ``run_comparison`` checks ``comparison.json``, ``comparison.csv``, ``comparison.md`` and
    the scenario directories; this adds what it writes at the end (``brief.pdf``, ``plots/``,
    the posterior and alternatives tables): they may exist only where escsim's own comparison
    vouches for them (its ``comparison.json``, or a scenario directory escsim wrote, as after an
    interrupted comparison), and are never symbolic links.

    Raises
    ------
    InputError
        Naming the file.
    """
    from sim.analysis.compare import ALTERNATIVES_FILE, META_FILE, POSTERIOR_FILE
    from sim.cli.common import InputError
    from sim.results.manifest import read_own_json

    if not target.is_dir():
        return
    names = ("brief.pdf", "plots", POSTERIOR_FILE, ALTERNATIVES_FILE)
    for name in names:
        if (target / name).is_symlink():
            raise InputError(
                f"{target / name}: is a symbolic link; escsim never writes through links "
                "(remove it or choose another --out)"
            )
    try:
        meta = json.loads((target / META_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        meta = None
    vouched = (isinstance(meta, dict) and "scenarios" in meta) or any(
        read_own_json(p) is not None
        for pattern in ("*/manifest.json", "*/plan.json")
        for p in target.glob(pattern)
    )
    if vouched:
        return
    for name in names:
        if (target / name).exists():
            raise InputError(
                f"{target / name}: not written by escsim compare (no {META_FILE} vouches for "
                "it); choose another --out"
            )


def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario YAML files; the first is the base of the paired differences."
        ),
    ],
    runs: Annotated[int, typer.Option("--runs", "-n", help="Replicates per scenario.")] = 1000,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed shared by every scenario (default: the first scenario's)."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Comparison directory (default results/compare)."),
    ] = None,
    engine: Annotated[str, typer.Option(help="Engine: kernel (fast) or mesa.")] = "kernel",
    plots: Annotated[bool, typer.Option(help="Draw the figures and the brief.")] = True,
    resume: Annotated[bool, typer.Option(help="Reuse finished scenario results in --out.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace results in --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    posterior: Annotated[
        Path | None,
        typer.Option(
            help="Posterior sample to draw parameters from (default calibration/posterior.parquet)."
        ),
    ] = None,
    fixed_parameters: Annotated[
        bool,
        typer.Option(
            "--fixed-parameters", help="Compare at the scenarios' fixed (fitted) parameters only."
        ),
    ] = False,
    per_draw: Annotated[
        int, typer.Option("--replicates-per-draw", min=1, help="Replicates per posterior draw.")
    ] = 1,
    reference: Annotated[
        Path | None,
        typer.Option(
            help="Reference scenario, always compared first (default status_quo.yaml next to "
            "the first scenario)."
        ),
    ] = None,
    alternatives: Annotated[
        Path | None,
        typer.Option(
            help="Structural alternatives to rerun the posterior under (default "
            "calibration/episode/alternatives.yaml when it exists)."
        ),
    ] = None,
    no_alternatives: Annotated[
        bool, typer.Option("--no-alternatives", help="Skip the structural alternatives.")
    ] = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
) -> None:
    """Run scenarios on common random numbers and compare their paired outcomes.

    Each scenario is run into OUT/NAME/ (a full results directory) on the same seed and
    replicates, so replicate k of every scenario shares its random draws and its history up to
    the policy date. Prints each scenario's median and 90% interval and the paired differences
    against the first scenario with bootstrap confidence intervals; writes comparison.csv,
    comparison.md, plots/ (PNG, SVG, PDF) and brief.pdf to OUT. Scenarios must share their
    horizon and outcome window (policy start).

    The reference (status quo) is always the first scenario. By default every replicate is run
    twice: at the fitted point and at its own posterior draw (replicate k takes draw
    k // replicates-per-draw in every scenario); the differences table gives the Monte Carlo CI
    at the fitted point and the total 90% interval over the posterior side by side, with the
    probability over draws that a scenario's outcome is lower than the reference's.

    With a posterior, the same replicates are run again under each structural alternative of
    calibration/episode/alternatives.yaml (its values replace the drawn ones), and a table
    gives each scenario pair's answer under each structure and whether its sign flips
    ("the answer depends on which structure is true"); --no-alternatives skips it.

    Example: `escsim compare scenarios/strong_us_retaliation.yaml scenarios/truce.yaml -o cmp`
    """
    from sim.analysis.compare import CompareError, run_comparison, with_reference
    from sim.analysis.posterior import PosteriorError
    from sim.cli.common import InputError, handle_errors, on_executor, out, progress_bar
    from sim.scenario import load_scenario

    with handle_errors(resumable=True), on_executor(executor, scheduler, workers):
        t0 = time.perf_counter()
        paths = with_reference(scenarios, reference)
        if reference is None and paths and not paths[0].exists():
            out.print(
                f"{paths[0]} not found: the first scenario is the reference (pass --reference)",
                markup=False,
                highlight=False,
            )
            paths = list(scenarios)
        loaded = [load_scenario(p) for p in paths]
        from sim.cli.run import print_warnings

        for ls in loaded:
            print_warnings(ls.warnings)
        target = out_dir or Path("results") / "compare"
        check_comparison_out(target)  # before anything runs
        try:
            post, note = _choose_posterior(posterior, fixed_parameters)
        except PosteriorError as exc:
            raise InputError(str(exc)) from None
        alts = _choose_alternatives(alternatives, no_alternatives, post, loaded)
        try:
            comp = run_comparison(
                loaded,
                target,
                runs,
                seed=seed,
                engine=engine,
                overwrite=overwrite,
                resume=resume,
                progress=lambda name: progress_bar(runs, name, quiet),
                argv=sys.argv,
                posterior=post,
                per_draw=per_draw,
                parameters_note=note,
                alternatives=alts,
            )
        except CompareError as exc:
            raise InputError(str(exc)) from None
        from sim.analysis.compare import load_comparison

        _, meta = load_comparison(target)
        _print_comparison(comp, meta)
        _print_answer(meta)
        _print_alternatives(meta)
        written = ""
        if plots:
            from sim.report.plotting import plot_compare_dir

            files = plot_compare_dir(target)
            written = f", {len(files) - 1} figure files in plots/, brief.pdf"
        out.print(
            f"results: {target} (comparison.csv, comparison.md{written}) in "
            f"{time.perf_counter() - t0:.1f} s"
        )


def plot(
    results: Annotated[
        Path, typer.Argument(help="A results directory of `escsim run` or `escsim compare`.")
    ],
) -> None:
    """Redraw the figures (and, for a comparison, the brief) from saved results.

    Nothing is re-run: the figures are drawn from events.parquet and runs.parquet. A run
    directory gets plots/fan and plots/thresholds; a comparison directory gets a fan chart per
    scenario, the side-by-side fans, the overlay, the threshold curves, the paired differences
    and brief.pdf.

    Example: `escsim plot results/cmp`
    """
    from sim.analysis.compare import META_FILE, CompareError
    from sim.cli.common import InputError, handle_errors, out
    from sim.report.plotting import plot_compare_dir, plot_run_dir
    from sim.report.rundata import is_run_dir
    from sim.results.manifest import check_tables

    with handle_errors():
        if not results.is_dir():
            raise InputError(f"{results}: not a directory")
        for name in ("plots", "brief.pdf"):  # where plot writes: never through a link
            if (results / name).is_symlink():
                raise InputError(
                    f"{results / name}: is a symbolic link; escsim never writes through links "
                    "(remove it)"
                )
        try:
            if (results / META_FILE).exists():
                for sub in sorted(results.glob("*/manifest.json")):
                    check_tables(sub.parent)
                files = plot_compare_dir(results)
            elif is_run_dir(results):
                check_tables(results)
                files = plot_run_dir(results)
            else:
                raise InputError(
                    f"{results}: neither a results directory (manifest.json, "
                    f"runs.parquet) nor a comparison directory ({META_FILE})"
                )
        except CompareError as exc:
            raise InputError(str(exc)) from None
        for f in files:
            out.print(str(f))


def explain(
    results: Annotated[Path, typer.Argument(help="A results directory (one scenario).")],
    run: Annotated[int, typer.Option("--run", "-k", help="Replicate index.")] = 0,
    window: Annotated[int, typer.Option(help="Escalation window in days.", min=1)] = 30,
) -> None:
    """Print the chain of action and reaction behind a replicate's largest escalation.

    The largest escalation is the 30-day window of the outcome window with the most attacks on
    US targets; the chain lists the events of the 30 days before, the window and the 30 days
    after: directives, raids and releases, attacks with claims and attributions, US strikes,
    truces, with dates.

    Example: `escsim explain results/cmp/strong_us_retaliation --run 7`
    """
    from sim.analysis.explain import explain_run, format_explanation
    from sim.cli.common import InputError, handle_errors, out
    from sim.report.rundata import is_run_dir
    from sim.results.manifest import check_tables

    with handle_errors():
        if not is_run_dir(results):
            raise InputError(
                f"{results}: not a results directory (manifest.json, runs.parquet);"
                " for a comparison give one scenario's sub-directory"
            )
        check_tables(results)
        try:
            ex = explain_run(results, run, window=window)
        except KeyError as exc:
            raise InputError(exc.args[0]) from None
        import json

        name = json.loads((results / "manifest.json").read_text())["scenario"]["name"]
        for text, style in format_explanation(ex, name):
            out.print(text, style=style or None, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Register the analysis commands (compare, plot, explain) on the escsim app."""
    app.command()(compare)
    app.command()(plot)
    app.command()(explain)
