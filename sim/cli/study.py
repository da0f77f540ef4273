"""Study commands of escsim: ``sensitivity`` and ``discover`` (see `sim.cli`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sim.analysis import discovery as D
from sim.analysis import sensitivity as S
from sim.cli.common import ExecutorOption, SchedulerOption, WorkersOption
from sim.results.files import claim_output_dir

FIGURE_FORMATS = ("png", "svg", "pdf")
# what each command writes into --out (besides manifest.json)
SENSITIVITY_FILES = (
    "morris.csv",
    "sobol.csv",
    "ranges.csv",
    *(f"sensitivity.{f}" for f in FIGURE_FORMATS),
)
DISCOVERY_FILES = (
    "design.csv",
    "trajectory.csv",
    "box.csv",
    "ranges.csv",
    *(f"discovery.{f}" for f in FIGURE_FORMATS),
)

TOP_MORRIS = 15


def sensitivity_figure(morris, sobol, title: str, out: Path) -> list[Path]:
    """Draw Morris mu* (top 15) and Sobol S1/ST with CIs, ranked; save PNG, SVG and PDF."""
    import matplotlib.pyplot as plt

    from sim.report.style import WIDE, colour, save_figure, workshop_style

    with workshop_style():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=WIDE, layout="constrained")
        m = morris.head(TOP_MORRIS).iloc[::-1]
        ax1.barh(m["parameter"], m["mu_star"], xerr=m["mu_star_conf"], color=colour(0))
        ax1.set_xlabel("Morris mu* (per full range)")
        ax1.set_title("Screening")
        s = sobol.iloc[::-1]
        y = range(len(s))
        h = 0.38
        for k, (col, lab) in enumerate((("S1", "first order"), ("ST", "total"))):
            pos = [v + (k - 0.5) * h for v in y]
            err = [(s[col] - s[f"{col}_lo"]).clip(lower=0), (s[f"{col}_hi"] - s[col]).clip(lower=0)]
            ax2.barh(pos, s[col], height=h, xerr=err, color=colour(k + 1), label=lab)
        ax2.set_yticks(list(y), s["parameter"])
        ax2.set_xlabel("Sobol index (95% bootstrap CI)")
        ax2.set_title("Sobol on the top parameters")
        ax2.legend(loc="lower right")
        fig.suptitle(title)
        paths = save_figure(fig, out, "sensitivity")
        plt.close(fig)
    return paths


def discovery_figure(result, title: str, out: Path) -> list[Path]:
    """Draw PRIM's peeling trajectory and the chosen box's limits; save PNG, SVG and PDF."""
    import matplotlib.pyplot as plt

    from sim.report.style import WIDE, colour, save_figure, workshop_style

    with workshop_style():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=WIDE, layout="constrained")
        t = result.trajectory
        sc = ax1.scatter(t["coverage"], t["density"], c=t["n_restricted"], cmap="viridis", s=60)
        ch = t.iloc[result.chosen]
        ax1.scatter(
            [ch["coverage"]],
            [ch["density"]],
            s=300,
            facecolors="none",
            edgecolors=colour(1),
            linewidths=3,
            label=f"chosen box {result.chosen}",
        )
        fig.colorbar(sc, ax=ax1, label="restricted dimensions")
        ax1.set_xlabel("coverage")
        ax1.set_ylabel("density")
        ax1.set_title("PRIM peeling trajectory")
        ax1.legend(loc="lower left")
        box = result.box[result.box["range_high"] != ""] if len(result.box) else result.box
        box = box[[isinstance(v, float) for v in box["low"]]] if len(box) else box
        for i, row in enumerate(box.itertuples()):
            span = row.range_high - row.range_low or 1.0
            lo = (row.low - row.range_low) / span
            hi = (row.high - row.range_low) / span
            ax2.plot([0, 1], [i, i], color="0.8", linewidth=8)
            ax2.plot([lo, hi], [i, i], color=colour(0), linewidth=8)
            ax2.text(1.02, i, f"{row.low:.3g} - {row.high:.3g}", va="center", fontsize=13)
        ax2.set_yticks(range(len(box)), list(box["parameter"]))
        ax2.set_xlim(0, 1.35)
        ax2.set_xlabel("share of the sampled range")
        ax2.set_title(f"Chosen box: coverage {ch['coverage']:.2f}, density {ch['density']:.2f}")
        fig.suptitle(title)
        paths = save_figure(fig, out, "discovery")
        plt.close(fig)
    return paths


def sensitivity(
    a: Annotated[Path, typer.Argument(help="Scenario A (the reference).")],
    b: Annotated[Path, typer.Argument(help="Scenario B (the difference is B - A).")],
    outcome: Annotated[str, typer.Option(help="Outcome metric (e.g. attacks_us).")],
    n: Annotated[int, typer.Option("--n", help="Sobol base sample (power of 2).")] = S.DEFAULT_N,
    trajectories: Annotated[int, typer.Option(help="Morris trajectories.")] = (
        S.DEFAULT_TRAJECTORIES
    ),
    top: Annotated[int, typer.Option(help="Parameters passed from Morris to Sobol.")] = (
        S.DEFAULT_TOP
    ),
    replicates: Annotated[
        int, typer.Option("--replicates", "-r", help="CRN replicates per point and scenario.")
    ] = S.DEFAULT_REPLICATES,
    seed: Annotated[int | None, typer.Option(help="Seed (default: A's).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "results/sensitivity"
    ),
    ranges: Annotated[bool, typer.Option(help="Print each parameter's range and rule.")] = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
) -> None:
    """Which assumptions carry the difference B - A? Morris screening, then Sobol indices.

    Every global parameter is screened with Morris; the top ones get Sobol first-order and
    total indices with bootstrap CIs. Each design point runs R replicates of A and B on common
    random numbers and is scored by the mean paired difference. Writes morris.csv, sobol.csv,
    ranges.csv, sensitivity.png/svg/pdf and manifest.json to OUT.

    Example: `escsim sensitivity scenarios/truce.yaml scenarios/status_quo.yaml --outcome us_killed`
    """
    from rich.table import Table

    from sim.cli.common import InputError, handle_errors, on_executor, out
    from sim.scenario import load_scenario

    with handle_errors(), on_executor(executor, scheduler, workers):
        la, lb = load_scenario(a), load_scenario(b)
        claim_output_dir(out_dir, "manifest.json", SENSITIVITY_FILES)  # before running
        try:
            res = S.run_sensitivity(
                la,
                lb,
                outcome,
                out_dir,
                n,
                trajectories,
                top,
                replicates,
                seed,
                argv=sys.argv,
                draw=sensitivity_figure,
            )
        except S.SensitivityError as exc:
            raise InputError(str(exc)) from None
        if ranges:
            rt = Table(title="Parameter ranges", title_justify="left")
            for c in ("parameter", "default", "low", "high", "rule"):
                rt.add_column(c)
            from sim.analysis.design import DesignScenario, range_table

            for row in range_table(S.uncertainties([DesignScenario.of(la.scenario)])):
                rt.add_row(*row)
            out.print(rt)
        tab = Table(
            title=f"Sobol indices of {lb.scenario.name} - {la.scenario.name}: {outcome} "
            f"(95% bootstrap CI; {replicates} CRN replicates per point)",
            title_justify="left",
        )
        for c in ("parameter", "S1", "ST"):
            tab.add_column(c, justify="left" if c == "parameter" else "right")
        for r in res.sobol.itertuples():
            tab.add_row(
                r.parameter,
                f"{r.S1:.2f} [{r.S1_lo:.2f}, {r.S1_hi:.2f}]",
                f"{r.ST:.2f} [{r.ST_lo:.2f}, {r.ST_hi:.2f}]",
            )
        out.print(tab)
        out.print(
            f"results: {out_dir} ({res.points} design points x 2 scenarios x {replicates} "
            f"replicates in {res.seconds:.1f} s)",
            markup=False,
        )


def discover(
    a: Annotated[Path, typer.Argument(help="Scenario A (the reference).")],
    b: Annotated[Path, typer.Argument(help="Scenario B (its policy's values are the levers).")],
    outcome: Annotated[str, typer.Option(help="Outcome metric (e.g. attacks_us).")],
    n: Annotated[int, typer.Option("--n", help="Latin hypercube points.")] = D.DEFAULT_N,
    replicates: Annotated[
        int, typer.Option("--replicates", "-r", help="CRN replicates per point and scenario.")
    ] = D.DEFAULT_REPLICATES,
    case: Annotated[
        str, typer.Option(help="Case of interest: B's outcome 'lower' or 'higher' than A's.")
    ] = "lower",
    threshold: Annotated[float, typer.Option(help="Margin of the case (outcome units).")] = 0.0,
    min_coverage: Annotated[
        float, typer.Option(help="Smallest coverage of the chosen box.")
    ] = D.MIN_COVERAGE,
    seed: Annotated[int | None, typer.Option(help="Seed (default: A's).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "results/discover"
    ),
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
) -> None:
    """Find with PRIM the combinations of assumptions and levers in which B beats A.

    Samples B's levers and every other global parameter on a Latin hypercube, runs A and B
    on common random numbers, marks the points where B's mean outcome is lower (or higher)
    than A's, and finds boxes with PRIM (EMA Workbench). Writes design.csv, trajectory.csv,
    box.csv, ranges.csv, discovery.png/svg/pdf and manifest.json to OUT.

    Example: `escsim discover scenarios/truce.yaml scenarios/status_quo.yaml --outcome attacks_us`
    """
    from rich.table import Table

    from sim.cli.common import InputError, handle_errors, on_executor, out
    from sim.scenario import load_scenario

    with handle_errors(), on_executor(executor, scheduler, workers):
        la, lb = load_scenario(a), load_scenario(b)
        claim_output_dir(out_dir, "manifest.json", DISCOVERY_FILES)  # before running
        try:
            res = D.run_discovery(
                la,
                lb,
                outcome,
                out_dir,
                n,
                replicates,
                case,
                threshold,
                min_coverage,
                seed,
                argv=sys.argv,
                draw=discovery_figure,
            )
        except D.DiscoveryError as exc:
            raise InputError(str(exc)) from None
        t = res.prim.trajectory.iloc[res.prim.chosen]
        tab = Table(
            title=f"Box where {lb.scenario.name} is {case} than {la.scenario.name} on {outcome}: "
            f"coverage {t['coverage']:.2f}, density {t['density']:.2f}, mass {t['mass']:.2f} "
            f"({int(res.design['case'].sum())} of {len(res.design)} points are cases)",
            title_justify="left",
        )
        for c in ("parameter", "low", "high", "sampled range", "kept"):
            tab.add_column(c)
        for r in res.prim.box.itertuples():
            if isinstance(r.low, float):
                tab.add_row(
                    r.parameter,
                    f"{r.low:.3g}",
                    f"{r.high:.3g}",
                    f"{r.range_low:.3g} - {r.range_high:.3g}",
                    f"{r.kept:.0%}",
                )
            else:
                tab.add_row(r.parameter, str(r.low), "", str(r.range_low), f"{r.kept:.0%}")
        out.print(tab)
        out.print(f"results: {out_dir} in {res.seconds:.1f} s", markup=False)


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` and ``discover`` to the app."""
    app.command()(sensitivity)
    app.command()(discover)
