"""The ``escsim`` command line (typer): the app, and one module per command group.

Exit codes: 0 success, 2 invalid input (a message, no traceback, nothing written), 1 any other
failure, 130 interrupted (finished chunks are kept; ``--resume`` continues).
"""

from __future__ import annotations

from typing import Annotated

import typer

from sim import __version__
from sim.cli.common import out

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    help="**escsim**: agent-based simulator of militia-state escalation in Iraq (2019-2022).\n\n"
    "Example: `escsim run scenarios/historical.yaml --runs 1000 --out results/hist`",
)


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


def _register_commands() -> None:
    """Add the commands defined in their own modules (each has ``register(app)``)."""
    from sim.cli import analysis, calibrate, episode, forecast, maintenance, run, study, workshop

    for module in (run, calibrate, analysis, maintenance, study, forecast, workshop, episode):
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
