"""Scenario discovery: the combinations of assumptions and levers in which B beats A.

Levers (the values B's policy sets, ``policy.`` paths: they apply after the policy date in B
only) and uncertainties (every other global parameter, in both scenarios) are sampled together
on a Latin hypercube (``scipy.stats.qmc.LatinHypercube``) over the ranges of
``design.parameter_catalogue``. Each point runs R replicates of A and B on common random
numbers; the case of interest at a point is that the replicate mean of outcome(B) - outcome(A)
is below (``case="lower"``) or above (``case="higher"``) a threshold (default 0). PRIM
(EMA Workbench ``ema_workbench.analysis.prim.Prim``) then peels boxes that hold the cases of
interest. The chosen box: among the boxes on the peeling trajectory whose coverage is at least
``min_coverage`` (default 0.5: the box holds half or more of all cases of interest), the
earliest (the fewest restrictions) whose density is within ``DENSITY_SLACK`` (0.05) of the
densest; later peels add restrictions that buy little density and are mostly fitted noise.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim import __version__
from sim.analysis.design import (
    DesignScenario,
    Parameter,
    csv_text,
    evaluate_design,
    paired_design,
    paired_difference,
    policy_levers,
    range_table,
    unit_to_values,
)
from sim.results.files import write_text_atomic
from sim.results.manifest import git_commit, versions
from sim.results.outcomes import METRICS
from sim.scenario import LoadedScenario

DEFAULT_N = 2000
DEFAULT_REPLICATES = 50
MIN_COVERAGE = 0.5
DENSITY_SLACK = 0.05
CASES = ("lower", "higher")
TRAJECTORY_COLUMNS = ("box", "coverage", "density", "mass", "n_restricted")
# kept: share of the sampled range (or of the categories) the box keeps; rows sorted by it, so
# the restrictions that matter most come first
BOX_COLUMNS = ("parameter", "low", "high", "range_low", "range_high", "kept")


class DiscoveryError(ValueError):
    """Invalid settings of a discovery run (a one-line message for the user)."""


def latin_hypercube(params: Sequence[Parameter], n: int, seed: int) -> np.ndarray:
    """Return n parameter points (n, k) on a Latin hypercube over the parameters' ranges."""
    unit = qmc.LatinHypercube(d=len(params), rng=np.random.default_rng(seed)).random(n)
    return unit_to_values(params, unit)


@dataclass
class PrimResult:
    """PRIM's peeling trajectory and the chosen box."""

    trajectory: pd.DataFrame  # TRAJECTORY_COLUMNS
    box: pd.DataFrame  # BOX_COLUMNS, restricted dimensions only
    chosen: int  # row of the trajectory


def find_box(
    x: pd.DataFrame,
    y: np.ndarray,
    min_coverage: float = MIN_COVERAGE,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> PrimResult:
    """Run PRIM on a design and choose a box (see module docstring).

    Parameters
    ----------
    x : DataFrame
        The design, one column per parameter; names must be identifiers and not ``policy``,
        ``scenario`` or ``model`` (EMA Workbench reserves them).
    y : ndarray of bool
        Case of interest per row.
    min_coverage : float
        Smallest coverage of the chosen box.
    peel_alpha, mass_min : float
        PRIM's peeling share and smallest box mass.

    Returns
    -------
    PrimResult
    """
    from ema_workbench.analysis import prim

    y = np.asarray(y, dtype=bool)
    if y.sum() == 0:
        raise DiscoveryError("no design point is a case of interest: nothing to find")
    logging.getLogger("EMA").setLevel(logging.WARNING)
    p = prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
    box = p.find_box()
    pt = box.peeling_trajectory.reset_index(drop=True)
    first = box.box_lims[0]
    n_restr, lims = [], []
    for lim in box.box_lims:
        restricted = [c for c in x.columns if (lim[c] != first[c]).any()]
        n_restr.append(len(restricted))
        lims.append((lim, restricted))
    traj = pd.DataFrame(
        {
            "box": np.arange(len(pt)),
            "coverage": pt["coverage"].to_numpy(float),
            "density": pt["density"].to_numpy(float),
            "mass": pt["mass"].to_numpy(float),
            "n_restricted": n_restr,
        }
    )
    ok = traj[traj["coverage"] >= min_coverage]
    if len(ok):
        near = ok[ok["density"] >= ok["density"].max() - DENSITY_SLACK]
        chosen = int(near.index[0])  # the earliest peel: the fewest restrictions
    else:
        chosen = 0
    lim, restricted = lims[chosen]
    rows = []
    for c in restricted:
        if isinstance(x[c].dtype, pd.CategoricalDtype):  # limits are sets of categories
            kept = ";".join(map(str, sorted(lim[c].iloc[0], key=str)))
            share = len(lim[c].iloc[0]) / len(x[c].cat.categories)
            rows.append((c, kept, kept, ";".join(map(str, x[c].cat.categories)), "", share))
        else:
            lo, hi, full = float(lim[c].iloc[0]), float(lim[c].iloc[1]), first[c]
            f_lo, f_hi = float(full.iloc[0]), float(full.iloc[1])
            share = (hi - lo) / (f_hi - f_lo) if f_hi > f_lo else 1.0
            rows.append((c, lo, hi, f_lo, f_hi, share))
    box_df = pd.DataFrame(rows, columns=list(BOX_COLUMNS))
    box_df = box_df.sort_values("kept", kind="stable").reset_index(drop=True)
    return PrimResult(traj, box_df, chosen)


@dataclass
class DiscoveryResult:
    """What ``run_discovery`` computed and wrote."""

    design: pd.DataFrame
    prim: PrimResult
    files: list[Path]
    seconds: float


def discovery_parameters(pair: Sequence[DesignScenario]) -> list[Parameter]:
    """Return B's levers (``design.policy_levers``) followed by the uncertainties (the rest)."""
    b = pair[1]
    levers = policy_levers(b.scenario)
    rest = [p for p in pair[0].catalogue if not p.lever and p.path not in b.policy_paths]
    return levers + rest


def run_discovery(
    a: LoadedScenario,
    b: LoadedScenario,
    outcome: str,
    out: Path,
    n: int = DEFAULT_N,
    replicates: int = DEFAULT_REPLICATES,
    case: str = "lower",
    threshold: float = 0.0,
    min_coverage: float = MIN_COVERAGE,
    seed: int | None = None,
    argv: Sequence[str] | None = None,
    draw: Callable[[PrimResult, str, Path], list[Path]] | None = None,
) -> DiscoveryResult:
    """Sample levers x uncertainties, run A and B on CRN, find with PRIM where B beats A.

    Writes ``design.csv`` (every point, its difference and case), ``trajectory.csv``,
    ``box.csv``, ``ranges.csv``, the figure (``draw``) and ``manifest.json`` to ``out``.

    Parameters
    ----------
    a, b : LoadedScenario
        The scenarios compared (the difference is B - A).
    outcome : str
        One of ``METRICS``.
    out : Path
        Output directory.
    n, replicates : int
        Design points and replicates per point and scenario.
    case : {"lower", "higher"}
        The case of interest: B's mean outcome below (above) A's by more than ``threshold``.
    threshold : float
        Margin of the case (outcome units).
    min_coverage : float
        Smallest coverage of the chosen box.
    seed : int, optional
        Seed of the simulations (default: A's seed) and of the sample.
    argv : sequence of str, optional
        The command line, recorded in the manifest.
    draw : callable, optional
        Draws the trajectory and box figure: (prim, title, out) -> written paths.

    Returns
    -------
    DiscoveryResult
    """
    if outcome not in METRICS:
        raise DiscoveryError(f"--outcome {outcome!r}: expected one of {', '.join(METRICS)}")
    if case not in CASES:
        raise DiscoveryError(f"--case {case!r}: expected one of {', '.join(CASES)}")
    if n < 10 or replicates < 1:
        raise DiscoveryError(
            f"--n must be at least 10 and --replicates at least 1 ({n}, {replicates})"
        )
    sa, sb = a.scenario, b.scenario
    t0 = time.perf_counter()
    pair, seed = paired_design(a, b, seed, DiscoveryError)
    params = discovery_parameters(pair)
    values = latin_hypercube(params, n, seed)
    diff = paired_difference(evaluate_design(pair, params, values, replicates), outcome)
    y = diff < -threshold if case == "lower" else diff > threshold
    x = pd.DataFrame(values, columns=[p.ident for p in params])
    for p in params:
        if p.kind == "categorical":
            x[p.ident] = pd.Categorical([p.categories[int(v)] for v in x[p.ident]])
    result = find_box(x, y, min_coverage)
    seconds = time.perf_counter() - t0
    design = x.assign(difference=diff, case=y)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranges = pd.DataFrame(
        range_table(params), columns=["parameter", "default", "low", "high", "rule"]
    )
    files = []
    for fname, df in (
        ("design.csv", design),
        ("trajectory.csv", result.trajectory),
        ("box.csv", result.box),
        ("ranges.csv", ranges),
    ):
        write_text_atomic(csv_text(df), out / fname)
        files.append(out / fname)
    label = f"{sb.name} {'below' if case == 'lower' else 'above'} {sa.name} on {outcome}"
    if draw is not None:
        files += draw(result, label, out)
    chosen = result.trajectory.iloc[result.chosen]
    manifest = {
        "escsim_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "analysis": "discover",
        "scenarios": [
            {"name": s.scenario.name, "path": s.path, "sha256": s.sha256, "text": s.text}
            for s in (a, b)
        ],
        "case": f"mean {outcome} of {sb.name} - {sa.name} "
        f"{'<' if case == 'lower' else '>'} {'-' if case == 'lower' else ''}{threshold:g}",
        "outcome": outcome,
        "seed": seed,
        "design_points": n,
        "replicates": replicates,
        "cases_of_interest": int(y.sum()),
        "min_coverage": min_coverage,
        "chosen_box": {
            "row": result.chosen,
            "coverage": float(chosen["coverage"]),
            "density": float(chosen["density"]),
            "mass": float(chosen["mass"]),
        },
        "wall_seconds": round(seconds, 3),
        "versions": versions(),
        "git_commit": git_commit(),
        "command": list(argv) if argv is not None else None,
    }
    write_text_atomic(json.dumps(manifest, indent=2), out / "manifest.json")
    files.append(out / "manifest.json")
    return DiscoveryResult(design, result, files, seconds)
