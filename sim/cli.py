"""The ``escsim`` command line (typer).

Exit codes: 0 success, 2 invalid input (a message, no traceback, nothing written), 1 any other
failure, 130 interrupted (finished chunks are kept; ``--resume`` continues).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    help="**escsim**: agent-based simulator of militia-state escalation in Iraq (2019-2022).\n\n"
    "Example: `escsim run scenarios/historical.yaml --runs 1000 --out results/hist`",
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


class InputError(Exception):
    """Invalid input given on the command line (exit code 2)."""


@contextlib.contextmanager
def handle_errors(resumable: bool = False) -> Iterator[None]:
    """Turn known failures into a one-line message and the documented exit code.

    ``resumable`` commands (run, compare) keep finished chunks and say how to continue.
    """
    from sim.runner import RunError
    from sim.scenario import ScenarioError

    try:
        yield
    except (ScenarioError, RunError, InputError) as exc:
        # escaped: a scenario's keys and values (e.g. "[/x]") must not be read as rich markup
        err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        if resumable:
            err.print("interrupted: finished chunks are saved; rerun with --resume to continue")
        else:
            err.print("interrupted (files are written atomically: none is half-written)")
        raise typer.Exit(130) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(
            f"[bold red]error:[/] {escape(where + str(exc.strerror or exc))}",
            markup=True,
            soft_wrap=True,
        )
        raise typer.Exit(2 if exc.errno in (13, 28, 30) else 1) from None


def _version(value: bool) -> None:
    if value:
        out.print(f"escsim {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Agent-based simulator of militia-state escalation in Iraq (2019-2022)."""


def summary_table(runs_table, title: str) -> Table:
    """Return a rich table of each outcome metric's median, 90% interval and mean."""
    import numpy as np

    from sim.metrics import METRICS

    tab = Table(title=title, title_justify="left")
    for col in ("outcome", "median", "5%", "95%", "mean"):
        tab.add_column(col, justify="left" if col == "outcome" else "right")
    for name in METRICS:
        x = runs_table.column(name).to_numpy(zero_copy_only=False).astype(float)
        x = x[~np.isnan(x)]
        if x.size == 0:
            tab.add_row(name, "-", "-", "-", "-")
            continue
        q = np.quantile(x, [0.5, 0.05, 0.95])
        tab.add_row(name, f"{q[0]:.3g}", f"{q[1]:.3g}", f"{q[2]:.3g}", f"{x.mean():.3g}")
    return tab


@contextlib.contextmanager
def progress_bar(total: int, label: str, quiet: bool) -> Iterator:
    """Yield a callback (done, total) that drives a progress bar with runs/s and ETA."""
    if quiet:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} runs/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as prog:
        task = prog.add_task(escape(label), total=total, rate="-")

        def update(done: int, _total: int) -> None:
            dt_ = max(time.perf_counter() - t0, 1e-9)
            prog.update(task, completed=done, rate=f"{done / dt_:,.0f}")

        yield update


@app.command()
def validate(
    scenario: Annotated[list[Path], typer.Argument(help="Scenario YAML file(s).")],
) -> None:
    """Check scenario files without running them.

    Example: `escsim validate scenarios/*.yaml`
    """
    from sim.scenario import load_scenario

    with handle_errors():
        for path in scenario:
            sc = load_scenario(path).scenario
            policy = f", policy from {sc.policy.start}" if sc.policy else ""
            out.print(
                escape(
                    f"{path}: ok ({sc.name}: {sc.start} to {sc.end}, {len(sc.factions)} "
                    f"factions, {len(sc.injects)} injects{policy})"
                ),
                soft_wrap=True,  # one line per file
            )


@app.command()
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
) -> None:
    """Run replicates of a scenario and write a results directory.

    Writes events.parquet (the event log), runs.parquet (outcome metrics per replicate) and
    manifest.json (everything needed to repeat the run) to --out.

    Example: `escsim run scenarios/historical.yaml --runs 1000 --seed 7 --out results/hist`
    """
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    with handle_errors(resumable=True):
        loaded = load_scenario(scenario)
        target = out_dir or Path("results") / loaded.scenario.name
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
            )
        if not quiet:
            m = res.manifest
            out.print(
                summary_table(
                    res.runs,
                    escape(
                        f"{loaded.scenario.name}: {m['runs']} runs, seed {m['seed']}, engine "
                        f"{m['engine']}, outcomes from {m['outcome_from']} "
                        f"({m['wall_seconds']} s)"
                    ),
                )
            )
        out.print(escape(f"results: {target}"), soft_wrap=True)


def _register_commands() -> None:
    """Add the commands defined in their own modules (each has ``register(app)``)."""
    from sim import cli_analysis, cli_calibrate, cli_maintenance

    for module in (cli_calibrate, cli_analysis, cli_maintenance):
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
