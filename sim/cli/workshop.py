"""The ``app`` command: serve the workshop page (``sim.app.page``) on localhost.

The module is not named ``app.py``: ``sim.cli.app`` is the typer application itself.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

OFFLINE_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",  # no usage reports leave the machine
    "SOLARA_TELEMETRY_SENTRY_ENABLE": "False",
}


def app(
    port: Annotated[int, typer.Option(help="Port on localhost.", min=0, max=65535)] = 8765,
    scenarios: Annotated[
        Path, typer.Option(help="Directory of the scenario files offered on the page.")
    ] = Path("scenarios"),
    runs: Annotated[
        int, typer.Option("--runs", "-n", help="Paired replicates per scenario.", min=2)
    ] = 300,
    workspace: Annotated[
        Path | None,
        typer.Option(help="Where the page writes results (default: a new temporary directory)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    posterior: Annotated[
        Path,
        typer.Option(
            help="Posterior sample the Compare tab compares over (a switch on the page turns it "
            "off); if the file is absent, the page compares at the fixed parameters."
        ),
    ] = Path("calibration") / "posterior.parquet",
) -> None:
    """Serve the workshop page: compare policies live, step one replicate, export the results.

    The page works offline (Solara's assets are served from the installed solara-assets; no
    CDN, no telemetry). Open the printed address in a browser; stop with Ctrl-C.

    Example: `escsim app --port 8765`
    """
    from sim.cli.common import InputError, handle_errors

    with handle_errors():
        if not scenarios.is_dir():
            raise InputError(f"{scenarios}: not a directory of scenario files (--scenarios)")
        ws = workspace or Path(tempfile.mkdtemp(prefix="escsim-app-"))
        ws.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **OFFLINE_ENV,
            "ESCSIM_APP_SCENARIOS": str(scenarios.resolve()),
            "ESCSIM_APP_WORKSPACE": str(ws.resolve()),
            "ESCSIM_APP_RUNS": str(runs),
            "ESCSIM_APP_FIGURE_PROCESS": "1",  # figures drawn on the other core (sim.app)
            "ESCSIM_APP_POSTERIOR": str(posterior.resolve()),
        }
        command = [
            sys.executable,
            "-m",
            "solara",
            "run",
            "sim.app.page",
            "--host",
            host,
            "--port",
            str(port),
            "--production",
            "--no-open",
        ]
        typer.echo(f"escsim app: http://{host}:{port}  (results in {ws}; Ctrl-C stops)")
        sys.stdout.flush()
        # become the server: a signal to this process (Ctrl-C, terminate) reaches it directly
        os.execve(sys.executable, command, env)


def register(app_: typer.Typer) -> None:
    """Register the ``app`` command on the escsim app."""
    app_.command(name="app")(app)
