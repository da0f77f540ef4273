"""``escsim forecast`` (data assimilation at an origin) and ``escsim evaluate`` (scoreboard)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import InputError, err, handle_errors, out

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_ORIGIN = dt.date(2020, 7, 31)
"""Origin of the example forecast that ``escsim evaluate`` writes next to the scoreboard."""
# what forecast writes into --out (besides manifest.json)
FORECAST_FILES = ("weights.parquet", "forecast.csv", "plots", "plots/forecast_fan.png")
# trajectories (--runs) and posterior draws (--draws) a forecast holds in memory at most
MAX_TRAJECTORIES = 10**6
# what evaluate writes into --out (besides standing.json)
SCOREBOARD_FILES = ("scores.csv", "paired.csv", "summary.md", "figures", "figures/crps.png")


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: expected a date YYYY-MM-DD; found {text!r}") from None


def _days(text: str) -> int:
    t = text.strip().lower()
    if not t.endswith("d") or not t[:-1].isdigit() or int(t[:-1]) < 1:
        raise InputError(f"--horizon: expected a number of days like 90d; found {text!r}")
    return int(t[:-1])


def _write_forecast(out_dir: Path, ens, w, windows, known, origin, horizon_end, label, meta):
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from sim.analysis.forecast import assimilation as A
    from sim.results.files import (
        atomic_file,
        claim_output_dir,
        write_parquet_atomic,
        write_text_atomic,
    )

    claim_output_dir(out_dir, "manifest.json", FORECAST_FILES)  # again: it may have changed
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "plots").mkdir(exist_ok=True)
    wt = pd.DataFrame({"run": np.arange(len(w)), "posterior_draw": ens.draw, "weight": w})
    write_parquet_atomic(
        pa.Table.from_pandas(wt, preserve_index=False), out_dir / "weights.parquet"
    )
    months = windows[windows["id"].str.startswith("M")]
    x = ens.column(tuple(months["id"]))
    q = A.weighted_quantiles(x, w, np.array([0.05, 0.25, 0.5, 0.75, 0.95]))
    fc = pd.DataFrame(
        {
            "month": months["id"].str[1:],
            "after_origin": months["start"] > pd.Timestamp(origin),
            "q05": q[0],
            "q25": q[1],
            "median": q[2],
            "q75": q[3],
            "q95": q[4],
            "mean": w @ x,
        }
    )
    write_text_atomic(fc.to_csv(index=False), out_dir / "forecast.csv")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5))
    t = pd.to_datetime(fc["month"])
    ax.fill_between(t, fc["q05"], fc["q95"], alpha=0.25, color="#0072B2", label="90% (weighted)")
    ax.fill_between(t, fc["q25"], fc["q75"], alpha=0.4, color="#0072B2", label="50%")
    ax.plot(t, fc["median"], color="#0072B2", label="median")
    for _, r in known.iterrows():
        days = (r["end"] - r["start"]).days + 1
        ax.hlines(r["count"] * 30.0 / days, r["start"], r["end"], color="k", lw=2)
    ax.axvline(pd.Timestamp(origin), color="#D55E00", ls="--", label="origin")
    ax.set_ylabel("Rocket attacks on US targets per month")
    ax.set_title(
        f"Forecast from {origin} ({label}); black: reports known at the origin "
        "(per 30 days, own counting rules)",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_file(out_dir / "plots" / "forecast_fan.png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    meta = {
        "written_by": "escsim",
        **meta,
        "ess": A.ess(w),
        "label": label,
        "assimilated_tallies": list(known["id"]),
        "horizon_end": horizon_end.isoformat(),
    }
    write_text_atomic(json.dumps(meta, indent=2, default=str), out_dir / "manifest.json")
    return meta


def _shown(path: Path) -> str:
    """Return ``path`` relative to the repository when it lies inside it (for manifests)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def run_forecast(
    scenario: Path,
    o: dt.date,
    days: int,
    runs: int,
    seed: int | None,
    condition: list[str],
    conditional_on_timeline: bool,
    posterior: Path | None,
    draws: int,
    out_dir: Path | None,
) -> tuple[Path, dict]:
    """Run ``escsim forecast`` and write its results directory; return (directory, manifest).

    Raises
    ------
    InputError
        On bad input (nothing written).
    """
    import numpy as np
    import pandas as pd

    from sim.analysis.calibrate import parameters as P
    from sim.analysis.forecast import assimilation as A
    from sim.analysis.forecast import availability as AV
    from sim.analysis.forecast import evaluate as E
    from sim.api import load_scenario
    from sim.results.files import check_input_file, claim_output_dir

    if runs < 2:
        raise InputError(f"--runs: expected an integer >= 2; found {runs}")
    if runs > MAX_TRAJECTORIES:
        raise InputError(f"--runs: expected at most {MAX_TRAJECTORIES:,}; found {runs}")
    if not 1 <= draws <= MAX_TRAJECTORIES:
        raise InputError(f"--draws: expected 1 to {MAX_TRAJECTORIES:,}; found {draws}")
    conds = []
    for c in condition:
        try:
            conds.append(A.parse_condition(c))
        except ValueError as exc:
            raise InputError(str(exc)) from None
    loaded = load_scenario(scenario)
    sc = loaded.scenario
    first = sc.start - dt.timedelta(days=1)  # the day before the start: nothing known yet
    if not first <= o < sc.end:
        raise InputError(
            f"--origin: expected a date from the day before the scenario's start to the day "
            f"before its end ({first}..{sc.end - dt.timedelta(days=1)}); found {o}"
        )
    target = out_dir or REPO / "results" / f"forecast_{sc.name}_{o}"
    claim_output_dir(target, "manifest.json", FORECAST_FILES)  # before running
    post = None
    if posterior is not None:
        check_input_file(posterior, "--posterior")
        try:
            with open(posterior, "rb") as fh:
                post = pd.read_parquet(fh)
        except Exception as exc:  # pyarrow raises several types for a bad file
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(
                f"--posterior: {posterior}: unreadable posterior sample ({first})"
            ) from None
        sc = P.base_scenario(scenario)
    end = min(o + dt.timedelta(days=days), sc.end)
    run_sc = sc if conditional_on_timeline else A.without_future_injects(sc, o)
    label = "conditional on the timeline" if conditional_on_timeline else "no future injects"
    fit, all_t = E.fitted_tallies(sc)
    known = AV.known_at(fit, o)
    months = A.month_windows(sc.start, end)
    windows = pd.concat(
        [known[["id", "start", "end", "weapons", "targets", "measure"]], months, *conds],
        ignore_index=True,
    )
    s = sc.seed if seed is None else seed
    t0 = time.time()
    ens = A.particle_filter(run_sc, windows, known, runs, s, end, post, draws, all_t)
    lw = np.log(np.maximum(ens.weights, 1e-300))
    for c in conds:
        hit = ens.column((c["id"][0],))[:, 0] > 0
        if not (hit & (ens.weights > 0)).any():
            raise InputError(f"--condition: no trajectory contains {c['id'][0]}")
        lw = np.where(hit, lw, -np.inf)
    w = A.normalise(lw)
    meta = {
        "command": "escsim forecast "
        + " ".join(
            [
                _shown(scenario),
                f"--origin {o}",
                f"--horizon {days}d",
                f"--runs {runs}",
                f"--seed {s}",
                *[f"--condition {c}" for c in condition],
                *(["--conditional-on-timeline"] if conditional_on_timeline else []),
                *([f"--posterior {_shown(posterior)} --draws {draws}"] if post is not None else []),
            ]
        ),
        "scenario_file": _shown(scenario),
        "scenario_text": loaded.text,
        "origin": o.isoformat(),
        "runs": runs,
        "seed": s,
        "conditions": list(condition),
        "wall_seconds": time.time() - t0,
        "weighting": "particle filter over replicate states (resampling when the "
        f"effective sample size < {A.RESAMPLE_BELOW} x runs; "
        f"{ens.resamples} resamplings, {ens.roots} distinct initial particles left)",
    }
    m = _write_forecast(target, ens, w, windows, known, o, end, label, meta)
    return target, m


def register(app: typer.Typer) -> None:
    """Register ``forecast`` and ``evaluate``."""

    @app.command()
    def forecast(
        scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")],
        origin: Annotated[str, typer.Option(help="Forecast origin YYYY-MM-DD.")],
        horizon: Annotated[str, typer.Option(help="Forecast length, e.g. 90d.")] = "90d",
        out_dir: Annotated[
            Path | None, typer.Option("--out", "-o", help="Results directory.")
        ] = None,
        runs: Annotated[int, typer.Option(help="Trajectories simulated.")] = 1000,
        seed: Annotated[int | None, typer.Option(help="Seed (default: scenario's).")] = None,
        condition: Annotated[
            list[str] | None,
            typer.Option(help="Weight by a documented event, e.g. attack:pm:2021-11-07."),
        ] = None,
        conditional_on_timeline: Annotated[
            bool,
            typer.Option(help="Keep injects dated after the origin (labelled as such)."),
        ] = False,
        posterior: Annotated[
            Path | None,
            typer.Option(help="posterior.parquet: spread trajectories over its draws."),
        ] = None,
        draws: Annotated[int, typer.Option(help="Posterior draws used (with --posterior).")] = 20,
    ) -> None:
        """Forecast from an origin, conditioned on the reports known there (importance weights).

        Example: `escsim forecast scenarios/historical.yaml --origin 2020-07-31 --horizon 90d`
        """
        with handle_errors():
            target, m = run_forecast(
                scenario,
                _date(origin, "--origin"),
                _days(horizon),
                runs,
                seed,
                condition or [],
                conditional_on_timeline,
                posterior,
                draws,
                out_dir,
            )
            out.print(
                f"forecast written to {target} ({m['label']}); effective sample size "
                f"{m['ess']:.1f} of {runs}",
                markup=False,
            )

    @app.command()
    def evaluate(
        quick: Annotated[bool, typer.Option(help="Small CI budget: 3 origins.")] = False,
        out_dir: Annotated[
            Path | None,
            typer.Option(
                "--out", "-o", help="Scoreboard directory (default calibration/evaluation)."
            ),
        ] = None,
        runs: Annotated[int | None, typer.Option(help="Trajectories per origin.")] = None,
        scenario: Annotated[
            Path | None,
            typer.Option(
                help="One scenario (default: scenarios/historical.yaml, "
                "scenarios/interlude_2022_2023.yaml and scenarios/episode_2023_2024.yaml)."
            ),
        ] = None,
    ) -> None:
        """Rolling-origin evaluation of the model against baselines; writes the scoreboard.

        Without --quick or --scenario it also writes the example forecast from 2020-07-31
        (`escsim forecast` with the origin's posterior) into forecast_2020-07-31/.

        Example: `escsim evaluate --quick --out /tmp/board`
        """
        with handle_errors():
            from sim.report.scoreboard import SCOREBOARD
            from sim.results.files import claim_output_dir

            target = out_dir or SCOREBOARD
            claim_output_dir(target, "standing.json", SCOREBOARD_FILES)  # before running
            import dataclasses

            from sim.analysis.calibrate import parameters as P
            from sim.analysis.forecast import evaluate as E
            from sim.api import load_scenario
            from sim.report.scoreboard import write_scoreboard

            paths = [scenario] if scenario else [REPO / "scenarios" / n for n in E.SCENARIOS]
            pairs = [(load_scenario(p).scenario, P.base_scenario(p)) for p in paths]
            st = E.Settings.quick_settings() if quick else E.Settings()
            if runs is not None:
                if runs < 10:
                    raise InputError(f"--runs: expected an integer >= 10; found {runs}")
                if runs > MAX_TRAJECTORIES:
                    raise InputError(f"--runs: expected at most {MAX_TRAJECTORIES:,}; found {runs}")
                st = dataclasses.replace(st, runs=runs)
            org = [
                o for sc, _ in pairs for o in (st.origins or E.origins(sc)) if E.evaluable(sc, o)
            ]
            t0 = time.time()
            scores = E.evaluate(pairs, st, progress=lambda o: err.print(f"origin {o} done"))
            paired = E.paired(scores)
            cmd = (
                "escsim evaluate"
                + (" --quick" if quick else "")
                + (f" --runs {runs}" if runs is not None else "")
            )
            claim_output_dir(target, "standing.json", SCOREBOARD_FILES)  # it may have changed
            write_scoreboard(
                scores,
                paired,
                target,
                {
                    "command": cmd,
                    "wall_seconds": time.time() - t0,
                    "quick": quick,
                    "parameters": E.PARAMETERS_LABEL,
                    "runs": st.runs,
                    "origins": f"{min(org)}..{max(org)} ({len(org)} month ends)",
                    "scenarios": ", ".join(str(p.name) for p in paths),
                    "draws": st.draws,
                    "uncovered": [
                        f"{r['id']} ({r['target_kind']}, {r['start'].date()}..{r['end'].date()})"
                        for _, r in E.uncovered_targets([sc for sc, _ in pairs]).iterrows()
                    ],
                },
            )
            if not quick and scenario is None:
                o = EXAMPLE_ORIGIN
                fit = E.fit_for(E.load_fits(), o)
                ex, m = run_forecast(
                    REPO / "scenarios" / "historical.yaml",
                    o,
                    90,
                    1000,
                    None,
                    [],
                    False,
                    None if fit is None else REPO / fit.label / "posterior.parquet",
                    25,
                    target / f"forecast_{o}",
                )
                out.print(f"example forecast written to {ex} ({m['command']})", markup=False)
            out.print(f"scoreboard written to {target} in {time.time() - t0:.0f} s", markup=False)
