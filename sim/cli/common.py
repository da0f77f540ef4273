"""What every escsim command shares: consoles, error handling and exit codes, progress, tables.

Exit codes: 0 success, 2 invalid input (a message, no traceback, nothing written), 1 any other
failure, 130 interrupted by Ctrl-C or SIGTERM (finished chunks are kept; ``--resume``
continues). Output that cannot be encoded (an ASCII locale, a file name that is not UTF-8) is
printed with backslash escapes; output into a closed pipe (``escsim explain ... | head``) ends
quietly with exit code 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

for _stream in (sys.stdout, sys.stderr):
    with contextlib.suppress(AttributeError, ValueError):  # a replaced stream (tests, notebooks)
        _stream.reconfigure(errors="backslashreplace")


class _Console(Console):
    """A rich console that ends quietly (exit code 0) when its reader has gone (``| head``)."""

    def on_broken_pipe(self) -> None:
        """Send the rest of the output nowhere and exit with code 0."""
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(0)


err = _Console(stderr=True, highlight=False)
out = _Console(highlight=False)


class InputError(Exception):
    """Invalid input given on the command line (exit code 2)."""


def _check_environment() -> None:
    """Refuse, in one line, settings of the environment that would fail deep inside numba."""
    value = os.environ.get("NUMBA_NUM_THREADS")
    if value is not None and not (value.strip().isdigit() and int(value) >= 1):
        err.print(
            "[bold red]error:[/] environment variable NUMBA_NUM_THREADS: expected a whole "
            f"number of at least 1; found {escape(repr(value))}",
            markup=True,
            soft_wrap=True,
        )
        raise SystemExit(2)


_check_environment()  # before any command imports numba


def shown(path: object) -> str:
    """Return a path as printable text (bytes that are not UTF-8 as backslash escapes)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


_interrupted: list[int] = []  # signals received inside ``handle_errors`` (SIGTERM as Ctrl-C)


def _interrupt(signum: int, frame: object) -> None:
    _interrupted.append(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_is_an_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM (timeout, SLURM, systemd, docker stop) acts as Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def handle_errors(resumable: bool = False) -> Iterator[None]:
    """Turn known failures into a one-line message and the documented exit code.

    ``resumable`` commands (run, compare) keep finished chunks and say how to continue.
    """
    import json

    from pyarrow import ArrowException

    from sim.runner import RunError, interrupted_in_compiled_code
    from sim.scenario import ScenarioError

    _interrupted.clear()
    try:
        with _sigterm_is_an_interrupt():
            try:
                yield
            except SystemError as exc:  # an interrupt inside a numba kernel (calibrate, forecast)
                if interrupted_in_compiled_code(exc):
                    raise KeyboardInterrupt from None
                raise
            if _interrupted:
                # the KeyboardInterrupt was swallowed where it landed (a finaliser, a library's
                # broad except): the command finished, but it was asked to stop: say so
                raise KeyboardInterrupt
    except (ScenarioError, RunError, InputError) as exc:
        # escaped: a scenario's keys and values (e.g. "[/x]") must not be read as rich markup
        for one in getattr(exc, "errors", (exc,)):  # a scenario file: every error, by line
            err.print(f"[bold red]error:[/] {escape(shown(one))}", markup=True, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        if resumable:
            err.print("interrupted: finished chunks are saved; rerun with --resume to continue")
        else:
            err.print("interrupted (files are written atomically: none is half-written)")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # the reader (`| head`) is gone: stop quietly, and let the exit flush go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(0) from None
    except (ArrowException, json.JSONDecodeError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        err.print(
            f"[bold red]error:[/] {escape('damaged or unreadable results file: ' + first)}",
            markup=True,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
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


# --- options shared by commands that run chunks ----------------------------------------------

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        help="Who computes the chunks: local (this process) or dask (Dask workers; same results).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786); default: a local cluster.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Dask: local workers to start (default one per core), or workers to wait for.",
    ),
]
EventsOption = Annotated[
    str,
    typer.Option(
        "--events",
        help="events.parquet holds all events, attacks only, or none (runs.parquet and "
        "monthly.parquet are always written).",
    ),
]


@contextlib.contextmanager
def on_executor(executor: str, scheduler: str | None, workers: int | None) -> Iterator[object]:
    """Run the block's chunks and design tasks on the executor the options name.

    ``--executor``/``--scheduler``/``--workers`` (``ExecutorOption`` etc.) are checked first
    (a bad combination raises ``RunError``: exit code 2); a Dask cluster is started or joined
    for the block and closed after it (``sim.executors.use_executor``).
    """
    from sim.executors import make_executor, use_executor

    with use_executor(make_executor(executor, scheduler, workers)) as ex:
        yield ex
