"""The ``escsim calibrate`` command and the calibration report it writes (Markdown + PNG).

Writes ``<out>/fitted.yaml`` (the overlay ``scenarios/historical.yaml`` loads) and
``<out>/report/`` (``report.md``, ``results.json`` and plots). Everything is computed before
anything is written; each file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_HOLDOUT = "2020-07-01"


def _parse_date(text: str, option: str) -> dt.date | None:
    from sim.cli.common import InputError

    if text.strip().lower() in ("none", "off", ""):
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{option}: expected a date YYYY-MM-DD or 'none'; found {text!r}"
        ) from None


def _check_positive(value: int, option: str, minimum: int = 1) -> None:
    from sim.cli.common import InputError

    if value < minimum:
        raise InputError(f"{option}: expected an integer >= {minimum}; found {value}")


def register(app: typer.Typer) -> None:
    """Register this module's commands on the escsim app."""

    @app.command()
    def calibrate(
        out_dir: Annotated[
            Path | None,
            typer.Option(
                "--out",
                "-o",
                help="Directory for fitted.yaml and report/ (default: calibration/ "
                "of the repository).",
            ),
        ] = None,
        seed: Annotated[
            int | None,
            typer.Option(
                help="Seed of the common random numbers, the optimiser and the Sobol points "
                "(default: the scenario's)."
            ),
        ] = None,
        holdout_after: Annotated[
            str,
            typer.Option(
                "--holdout-after",
                help="Out-of-sample date: fit on tallies ending before it, score "
                "the others against baselines; 'none' to skip.",
            ),
        ] = DEFAULT_HOLDOUT,
        scenario: Annotated[
            Path | None,
            typer.Option(help="Scenario to calibrate (default: scenarios/historical.yaml)."),
        ] = None,
        runs: Annotated[
            int | None, typer.Option(help="Replicates per candidate in the fit (default 120).")
        ] = None,
        maxiter: Annotated[
            int | None, typer.Option(help="Generations of differential evolution (default 25).")
        ] = None,
        popsize: Annotated[
            int | None,
            typer.Option(help="Population per parameter of differential evolution (default 6)."),
        ] = None,
        abc_samples: Annotated[
            int | None, typer.Option(help="Prior points of the ABC rejection step (default 1024).")
        ] = None,
        check_runs: Annotated[
            int | None, typer.Option(help="Replicates of the predictive check (default 1000).")
        ] = None,
        quick: Annotated[
            bool, typer.Option(help="Tiny smoke-test budget (seconds; for tests, not for use).")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    ) -> None:
        """Calibrate the historical scenario to the observed tallies and write a report.

        Fits a small set of parameters by simulated likelihood (differential evolution, common
        random numbers), quantifies uncertainty by ABC rejection, checks the fitted scenario's
        predictive intervals and pattern checks, and validates out of sample against
        persistence, climatology, NB regression and Hawkes baselines. Same seed, same
        fitted.yaml.

        Example: `escsim calibrate --out calibration --seed 20191001 --holdout-after 2020-07-01`
        """
        from sim.analysis.calibrate import fit as C
        from sim.cli.common import err, handle_errors, out

        with handle_errors():
            hold = _parse_date(holdout_after, "--holdout-after")
            path = scenario or C.DEFAULT_SCENARIO
            from sim.scenario import load_scenario

            sc_seed = load_scenario(path).scenario.seed
            s = seed if seed is not None else sc_seed
            if not (0 <= s <= 2**62):
                from sim.cli.common import InputError

                raise InputError(f"--seed: expected an integer in [0, 2**62]; found {s}")
            settings = C.FitSettings.quick(s) if quick else C.FitSettings(seed=s)
            changes = {
                "runs": runs,
                "maxiter": maxiter,
                "popsize": popsize,
                "abc_samples": abc_samples,
                "check_runs": check_runs,
            }
            for name, v in changes.items():
                if v is not None:
                    _check_positive(v, "--" + name.replace("_", "-"), 2 if name != "maxiter" else 1)
            import dataclasses

            settings = dataclasses.replace(
                settings, **{k: v for k, v in changes.items() if v is not None}
            )
            if hold is not None:
                _check_holdout(path, hold)
            target = out_dir or C.DEFAULT_OUT
            _prepare(target)
            from sim.report.calibration import write_outputs

            say = None if quiet else (lambda msg: err.print(msg, highlight=False))
            cal = C.run_calibration(settings, path, hold, progress=say)
            write_outputs(cal, target, sys.argv)
            out.print(
                f"fitted: {target / 'fitted.yaml'}  report: {target / 'report' / 'report.md'}"
                f"  ({cal.timings['total']:.0f} s; {cal.coverage90:.0%} of tallies inside "
                f"the 90% predictive intervals)"
            )


def _check_holdout(path: Path, date: dt.date) -> None:
    from sim.analysis.calibrate import fit as C
    from sim.analysis.observed import load_tallies
    from sim.cli.common import InputError

    train, test = C.split_holdout(C.fittable(load_tallies(), C.base_scenario(path)), date)
    if train.empty or test.empty:
        raise InputError(
            f"--holdout-after {date}: {len(train)} fitted tallies end before it and "
            f"{len(test)} on or after it; both sets must be non-empty"
        )


def _prepare(target: Path) -> None:
    from sim.runner import RunError

    try:
        (target / "report").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{target}: cannot create the output directory: {exc.strerror}") from None
    if not os.access(target, os.W_OK):
        raise RunError(f"{target}: the output directory is not writable")


# --- writing -------------------------------------------------------------------------------------
