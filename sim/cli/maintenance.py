"""Maintenance commands of escsim: ``replay`` (see `sim.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def replay(
    results: Annotated[Path, typer.Argument(help="A results directory written by escsim run.")],
    runs: Annotated[
        int | None,
        typer.Option("--runs", "-n", help="Replay only the first N replicates (default: all)."),
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="Engine of the replay (default: the manifest's).")
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Chunk size of the replay (default: the manifest's).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="numba threads of the replay (default: all).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Re-run a results directory from its manifest and check the results are identical.

    Rebuilds the scenario files stored in manifest.json, runs them again with the stored seed,
    engine, replicates and chunk size in a temporary directory, and compares the event log and
    the runs table with the stored ones. Exit code 0 if identical, 1 if anything differs (each
    difference is printed), 2 if the directory cannot be replayed. --engine, --chunk-size and
    --threads replay another way that must give the same results.

    Example: `escsim replay results/hist --runs 100 --threads 1`
    """
    from rich.markup import escape

    from sim.analysis.posterior import PosteriorRun
    from sim.cli.common import err, handle_errors, out, progress_bar
    from sim.replay import read_manifest
    from sim.replay import replay as do_replay

    with handle_errors():
        manifest = read_manifest(results)
        n = manifest["runs"] if runs is None else runs
        with progress_bar(max(n, 1), f"replay {manifest['scenario'].get('name', '')}", quiet) as cb:
            report = do_replay(
                results,
                runs=runs,
                engine=engine,
                chunk_size=chunk_size,
                threads=threads,
                progress=cb,
                make_design=PosteriorRun.from_record,
            )
    for note in report.notes:
        err.print(escape(f"note: {note}"))
    what = (
        f"{report.runs:,} of {manifest['runs']:,} replicates (seed {manifest['seed']}, engine "
        f"{report.engine}, chunk size {report.chunk_size}; {report.events_rows:,} events)"
    )
    if report.identical:
        out.print(escape(f"identical: {what}"), soft_wrap=True)
        return
    for line in report.differences:
        out.print(escape(f"differs: {line}"), soft_wrap=True)
    out.print(escape(f"NOT identical: {what}"), soft_wrap=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Register this module's commands on the escsim app."""
    app.command()(replay)
