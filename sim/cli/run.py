"""The ``validate`` and ``run`` commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sim.cli.common import (
    EventsOption,
    ExecutorOption,
    SchedulerOption,
    WorkersOption,
    err,
    handle_errors,
    out,
    progress_bar,
    shown,
    summary_table,
)


def print_warnings(warnings) -> None:
    """Print a scenario's warnings (one line each) on stderr."""
    for w in warnings:
        err.print(f"[yellow]{escape(w)}[/]", markup=True, soft_wrap=True)


def validate(
    scenario: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).")],
) -> None:
    """Check scenario files without running them.

    Example: `escsim validate scenarios/*.yaml`
    """
    from sim.scenario import ScenarioError, load_scenario

    failed = 0
    for path in scenario:  # every file is checked, whatever the earlier ones hold
        try:
            with handle_errors():
                loaded = load_scenario(path)
        except typer.Exit:
            failed += 1
            continue
        except ScenarioError:  # pragma: no cover - handle_errors turns it into an exit
            raise
        print_warnings(loaded.warnings)
        sc = loaded.scenario
        policy = f", policy from {sc.policy.start}" if sc.policy else ""
        out.print(
            escape(
                f"{shown(os.path.normpath(path))}: ok ({sc.name}: {sc.start} to {sc.end}, "
                f"{len(sc.factions)} factions, {len(sc.injects)} injects{policy})"
            ),
            soft_wrap=True,  # one line per file
        )
    if failed:
        raise typer.Exit(2)


def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    runs: Annotated[int, typer.Option("--runs", "-n", help="Number of replicates.")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    engine: Annotated[
        str, typer.Option(help="Engine: kernel (fast) or mesa (reference).")
    ] = "kernel",
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Results directory.")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Replicates per saved chunk.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run in --out.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace finished results in --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    events: EventsOption = "all",
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    posterior: Annotated[
        Path | None,
        typer.Option(help="Run over this posterior sample: replicate k at draw k (as compare)."),
    ] = None,
    over_posterior: Annotated[
        bool,
        typer.Option(
            "--over-posterior", help="Run over the default posterior calibration/posterior.parquet."
        ),
    ] = False,
    per_draw: Annotated[
        int, typer.Option("--replicates-per-draw", min=1, help="Replicates per posterior draw.")
    ] = 1,
) -> None:
    """Run replicates of a scenario and write a results directory.

    Writes events.parquet (the event log; none with --events none), runs.parquet (outcome
    metrics per replicate), monthly.parquet (counts per replicate and month) and manifest.json
    (everything needed to repeat the run) to --out.

    On Dask workers: `escsim run scenarios/historical.yaml --executor dask --workers 2`.

    Over the posterior (--posterior FILE, or --over-posterior for calibration/posterior.parquet):
    replicate k runs draw k // replicates-per-draw of the sample resampled with the seed, as in
    `escsim compare`; the manifest keeps the sample, so `escsim replay` repeats it.

    Example: `escsim run scenarios/historical.yaml --runs 1000 --seed 7 --out results/hist`
    """
    from sim.executors import make_executor
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    with handle_errors(resumable=True):
        loaded = load_scenario(scenario)
        print_warnings(loaded.warnings)
        design = posterior_design(loaded, posterior, over_posterior, runs, seed, per_draw)
        execute = make_executor(executor, scheduler, workers)
        target = out_dir or Path("results") / loaded.scenario.name
        if out_dir is None:
            check_default_out(target, loaded.scenario.name)
        with progress_bar(runs, loaded.scenario.name, quiet) as cb:
            res = run_scenario(
                loaded,
                target,
                runs,
                seed=seed,
                engine=engine,
                chunk_size=chunk_size,
                resume=resume,
                overwrite=overwrite,
                progress=cb,
                argv=sys.argv,
                notice=lambda text: err.print(escape(text), soft_wrap=True),
                events=events,
                execute=execute,
                design=design,
            )
        if not quiet:
            m = res.manifest
            out.print(
                summary_table(
                    res.runs,
                    escape(
                        f"{loaded.scenario.name}: {m['runs']} runs, seed {m['seed']}, engine "
                        f"{m['engine']}, outcomes from {m['outcome_from']}"
                        + (
                            f", posterior draws of {m['parameters']['path']}"
                            if m.get("parameters")
                            else ""
                        )
                        + " "
                        f"({m['wall_seconds']} s)"
                    ),
                )
            )
        out.print(escape(f"results: {shown(target)}"), soft_wrap=True)


def posterior_design(loaded, path: Path | None, default: bool, runs: int, seed, per_draw: int):
    """Return the PosteriorRun of ``escsim run --posterior`` (None: the fixed parameters).

    Raises
    ------
    InputError
        If the sample cannot be used or ``runs`` is not a multiple of ``per_draw``.
    """
    from sim.cli.common import InputError

    if path is None and not default:
        if per_draw != 1:
            raise InputError("--replicates-per-draw: needs --posterior FILE or --over-posterior")
        return None  # nothing more imported: a fixed run starts as fast as before
    if path is not None and default:
        raise InputError("--posterior and --over-posterior: give one")
    from sim.analysis.design import DesignScenario
    from sim.analysis.posterior import (
        DEFAULT_POSTERIOR,
        PosteriorError,
        PosteriorRun,
        read_posterior,
    )

    seed = loaded.scenario.seed if seed is None else seed
    try:
        post = read_posterior(path or DEFAULT_POSTERIOR)
        return PosteriorRun.of(
            DesignScenario.of(loaded.scenario, seed=seed), post, runs, seed, per_draw
        )
    except PosteriorError as exc:
        raise InputError(str(exc)) from None


def check_default_out(target: Path, name: str) -> None:
    """Refuse a default ``results/<name>`` that another command (e.g. compare) wrote.

    Raises
    ------
    InputError
        If ``target`` exists and is not a results directory of ``escsim run`` (a comparison,
        a sweep, or any other directory that holds files).
    """
    from sim.cli.common import InputError

    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"{target}: exists and is not a directory; pass --out")
    mine = (target / "manifest.json").exists() or (target / "plan.json").exists()
    if mine or not any(target.iterdir()):
        return
    made_by = "a comparison (escsim compare)" if (target / "comparison.json").exists() else None
    made_by = made_by or "another command"
    raise InputError(
        f"{target}: the default results directory for '{name}' holds the output of {made_by}; "
        "pass --out to choose where this run goes"
    )


def register(app) -> None:
    """Register this module's commands on the escsim app."""
    app.command()(validate)
    app.command()(run)
