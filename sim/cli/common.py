"""What every escsim command shares: consoles, error handling and exit codes, progress, tables.

Exit codes: 0 success, 2 invalid input (a message, no traceback, nothing written), 1 any other
failure, 130 interrupted (finished chunks are kept; ``--resume`` continues).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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
        for one in getattr(exc, "errors", (exc,)):  # a scenario file: every error, by line
            err.print(f"[bold red]error:[/] {escape(str(one))}", markup=True, soft_wrap=True)
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


def summary_table(runs_table, title: str) -> Table:
    """Return a rich table of every outcome of ``sim.results.outcomes.OUTCOMES`` over replicates.

    A probability shows the share of replicates where the event happened; any other outcome its
    median, 90% interval (values some replicate took) and mean. Days to an event that did not
    happen rank last ("never") and the mean is over the replicates where it did; a ratio that
    is undefined in a replicate (no attacks) is left out.
    """
    import numpy as np

    from sim.results.outcomes import OUTCOMES

    def cell(v: float) -> str:
        return "never" if np.isinf(v) else f"{v:.3g}"

    tab = Table(title=title, title_justify="left")
    for col in ("outcome", "median", "5%", "95%", "mean"):
        tab.add_column(col, justify="left" if col == "outcome" else "right")
    columns = {
        name: runs_table.column(name).to_numpy(zero_copy_only=False)
        for name in runs_table.column_names
    }
    for o in OUTCOMES:
        x = o.values(columns)
        if o.kind == "share":
            tab.add_row(o.label, "", "", "", f"{100 * x.mean():.1f}%" if x.size else "-")
            continue
        done = x[~np.isnan(x)]
        ranked = np.where(np.isnan(x), np.inf, x) if o.kind == "days" else done
        if ranked.size == 0:
            tab.add_row(o.label, "-", "-", "-", "-")
            continue
        q = np.quantile(ranked, [0.5, 0.05, 0.95], method="inverted_cdf")
        mean = f"{done.mean():.3g}" if done.size else "-"
        tab.add_row(o.label, *(cell(v) for v in q), mean)
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
