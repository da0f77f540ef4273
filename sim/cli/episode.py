"""The ``escsim episode`` command: what the 2023-24 episode says about deterrence vs restraint.

Fits the episode's tallies under each declared structural alternative
(``sim.analysis.calibrate.episode.ALTERNATIVES``), estimates each one's log evidence with
tempered SMC over several seeds, and writes ``<out>/report.md``, ``<out>/alternatives.yaml``
(read by ``escsim compare``), posteriors, a manifest and figures. Everything is computed before
anything is written; each file is written atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

# what episode writes into --out (besides manifest.json and posterior_<alternative>.parquet)
EPISODE_FILES = ("report.md", "alternatives.yaml", "evidence.png", "daily.png", "tallies.png")
# --particles and --runs: at most this many
MAX_COUNT = 10**6


def _seeds(text: str) -> tuple[int, ...]:
    from sim.cli.common import InputError

    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise InputError(f"--seeds: expected comma-separated integers; found {text!r}") from None
    if not seeds or any(not 0 <= s <= 2**62 for s in seeds) or len(set(seeds)) != len(seeds):
        raise InputError(
            f"--seeds: expected one or more distinct integers in [0, 2**62]; found {text!r}"
        )
    return seeds


def register(app: typer.Typer) -> None:
    """Register this module's commands on the escsim app."""

    @app.command()
    def episode(
        out_dir: Annotated[
            Path | None,
            typer.Option("--out", "-o", help="Output directory (default: calibration/episode/)."),
        ] = None,
        scenario: Annotated[
            Path | None,
            typer.Option(help="Episode scenario (default: scenarios/episode_2023_2024.yaml)."),
        ] = None,
        alternatives: Annotated[
            str | None,
            typer.Option(help="Comma-separated alternatives (default: all declared ones)."),
        ] = None,
        seeds: Annotated[
            str, typer.Option(help="Comma-separated seeds; their spread is the evidence noise.")
        ] = "1,2,3",
        particles: Annotated[int, typer.Option(help="SMC particles per fit.")] = 64,
        runs: Annotated[int, typer.Option(help="Replicates per likelihood evaluation.")] = 20,
        quick: Annotated[
            bool, typer.Option(help="Tiny smoke-test budget (seconds; for tests, not for use).")
        ] = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
    ) -> None:
        """Weigh deterrence against Iranian restraint on the 2023-24 episode (log evidence).

        Each structural alternative (deterrence, restraint, both) is fitted to the episode's
        tallies by tempered SMC on the calibration's synthetic likelihood; the log evidence
        per seed, the log Bayes factors with their noise, posteriors and the posterior
        predictive of the Feb 2024 pause go to report.md and alternatives.yaml.

        Example: `escsim episode --seeds 1,2,3 --particles 64 --runs 20`
        """
        import dataclasses

        from sim.analysis.calibrate import episode as E
        from sim.cli.common import InputError, err, handle_errors, out

        with handle_errors():
            chosen = None
            if alternatives is not None:
                chosen = tuple(a.strip() for a in alternatives.split(",") if a.strip())
                known = {a.name for a in E.ALTERNATIVES}
                bad = [a for a in chosen if a not in known]
                if bad or not chosen:
                    raise InputError(
                        f"--alternatives: expected names among {', '.join(sorted(known))}; "
                        f"found {alternatives!r}"
                    )
            s = _seeds(seeds)
            for name, v in (("--particles", particles), ("--runs", runs)):
                if v < 2:
                    raise InputError(f"{name}: expected an integer >= 2; found {v}")
                if v > MAX_COUNT:
                    raise InputError(f"{name}: expected at most {MAX_COUNT:,}; found {v}")
            path = scenario or E.EPISODE_SCENARIO
            if not Path(path).is_file():
                raise InputError(f"--scenario: expected an existing file; found {str(path)!r}")
            from sim.scenario import load_scenario

            load_scenario(Path(path))  # a bad scenario fails here, with its own message
            budget = E.Budget.quick() if quick else E.Budget(particles=particles, runs=runs)
            budget = dataclasses.replace(budget, seeds=s)
            target = out_dir or E.DEFAULT_OUT
            from sim.results.files import claim_output_dir

            files = (
                *EPISODE_FILES,
                *(f"posterior_{a.name}.parquet" for a in E.ALTERNATIVES),
            )
            claim_output_dir(target, "manifest.json", files)  # before running
            say = None if quiet else (lambda msg: err.print(msg, highlight=False))
            cmp_ = E.compare(budget, Path(path), chosen, say)
            from sim.report.episode import write_outputs

            claim_output_dir(target, "manifest.json", files)  # it may have changed since
            write_outputs(cmp_, target, sys.argv)
            import itertools

            for a, b in itertools.combinations(list(cmp_.fits), 2):
                out.print(E.verdict(*cmp_.bayes_factor(a, b), a, b))
            out.print(
                f"report: {target / 'report.md'}  alternatives: {target / 'alternatives.yaml'}  "
                f"({cmp_.seconds:.0f} s)",
                markup=False,
            )
