"""The ``escsim calibrate`` command: posterior sample, fitted.yaml summary and report.

Writes ``<out>/posterior.parquet`` (one row per draw, one column per parameter, ``weight``),
``<out>/fitted.yaml`` (the overlay ``scenarios/historical.yaml`` loads: posterior medians) and
``<out>/report/`` (``report.md``, ``results.json`` and plots). Everything is computed before
anything is written; each file is written atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

# the record that marks an output directory as calibrate's, and what calibrate writes there
MARKER = "report/results.json"
CALIBRATE_FILES = (
    "posterior.parquet",
    "fitted.yaml",
    "report",
    "report/report.md",
    "report/tallies.png",
    "report/parameters.png",
    "report/smc.png",
)
# --particles, --runs and --check-draws: at most this many (the arrays they size are held in memory)
MAX_COUNT = 10**6


def _parse_date(text: str | None, option: str) -> dt.date | None:
    from sim.cli.common import InputError

    if text is None or text.strip().lower() in ("none", "off", ""):
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
                help="Directory for posterior.parquet, fitted.yaml and report/ (default: "
                "calibration/ of the repository).",
            ),
        ] = None,
        data_until: Annotated[
            str | None,
            typer.Option(
                "--data-until",
                help="Fit only tallies whose window ends on or before this date (YYYY-MM-DD); "
                "the later ones are scored out of sample in the report.",
            ),
        ] = None,
        holdout_after: Annotated[
            str | None,
            typer.Option(
                "--holdout-after",
                help="Deprecated: same as --data-until the day before.",
            ),
        ] = None,
        seed: Annotated[
            int | None,
            typer.Option(help="Seed of everything random (default: the scenario's)."),
        ] = None,
        scenario: Annotated[
            Path | None,
            typer.Option(help="Scenario to calibrate (default: scenarios/historical.yaml)."),
        ] = None,
        particles: Annotated[
            int | None, typer.Option(help="SMC particles = posterior draws (default 128).")
        ] = None,
        runs: Annotated[
            int | None,
            typer.Option(help="Replicates per likelihood evaluation (default 40)."),
        ] = None,
        check_draws: Annotated[
            int | None,
            typer.Option(help="Posterior draws of the predictive check (default 200)."),
        ] = None,
        quick: Annotated[
            bool, typer.Option(help="Tiny smoke-test budget (seconds; for tests, not for use).")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    ) -> None:
        """Estimate the posterior of the calibrated parameters and write a report.

        Likelihood-tempered SMC on a synthetic likelihood (each counter's observation model,
        nested running totals scored jointly, common random numbers); posterior predictive
        coverage, convergence and identifiability in the report. Same seed, byte-identical
        posterior.parquet and fitted.yaml.

        Example: `escsim calibrate --data-until 2020-12-31 --out /tmp/cal2020`
        """
        from sim.analysis.calibrate import run as R
        from sim.cli.common import InputError, err, handle_errors, out
        from sim.results.files import claim_output_dir

        with handle_errors():
            until = _parse_date(data_until, "--data-until")
            if holdout_after is not None:
                from sim.analysis.calibrate.holdout import data_until_from_holdout

                hold = _parse_date(holdout_after, "--holdout-after")
                if until is not None:
                    raise InputError("--holdout-after: give --data-until only (it replaces it)")
                if hold is not None:
                    until = data_until_from_holdout(hold)
                    err.print(
                        f"--holdout-after is deprecated: using --data-until {until} (windows "
                        "ending before the holdout date)"
                    )
            path = scenario or R.DEFAULT_SCENARIO
            from sim.scenario import load_scenario

            sc = load_scenario(path).scenario
            s = seed if seed is not None else sc.seed
            if not (0 <= s <= 2**62):
                raise InputError(f"--seed: expected an integer in [0, 2**62]; found {s}")
            settings = R.Settings.quick(s) if quick else R.Settings(seed=s)
            changes = {"particles": particles, "runs": runs, "check_draws": check_draws}
            for name, v in changes.items():
                if v is not None:
                    _check_positive(v, "--" + name.replace("_", "-"), 2)
                    if v > MAX_COUNT:
                        raise InputError(
                            f"--{name.replace('_', '-')}: expected at most {MAX_COUNT:,}; found {v}"
                        )
            settings = dataclasses.replace(
                settings, **{k: v for k, v in changes.items() if v is not None}
            )
            if until is not None:
                _check_until(path, until)
            target = out_dir or R.DEFAULT_OUT
            claim_output_dir(target, MARKER, CALIBRATE_FILES)  # before running
            from sim.report.calibration import write_outputs

            say = None if quiet else (lambda msg: err.print(msg, highlight=False))
            cal = R.run_calibration(settings, path, until, progress=say)
            claim_output_dir(target, MARKER, CALIBRATE_FILES)  # it may have changed since
            write_outputs(cal, target, sys.argv)
            out.print(
                f"posterior: {target / 'posterior.parquet'}  fitted: {target / 'fitted.yaml'}  "
                f"report: {target / 'report' / 'report.md'}  ({cal.timings['total']:.0f} s; "
                f"{cal.coverage90:.0%} of fitted exact/approx tallies inside the 90% "
                "predictive intervals)",
                markup=False,
            )


def _check_until(path: Path, date: dt.date) -> None:
    from sim.analysis.calibrate.observation import select
    from sim.analysis.calibrate.parameters import base_scenario
    from sim.analysis.observed import load_tallies
    from sim.cli.common import InputError

    base = base_scenario(path)
    t = select(load_tallies(), base.start, base.end, date)
    if not (t["status"] == "fit").any():
        raise InputError(
            f"--data-until {date}: no fittable tally ends on or before it inside the "
            f"scenario's horizon {base.start} - {base.end}"
        )
