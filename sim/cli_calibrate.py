"""Commands of escsim registered from this module (see `sim.cli`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register this module's commands on the escsim app."""
