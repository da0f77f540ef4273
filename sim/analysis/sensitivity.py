"""Global sensitivity of a policy difference: Morris screening, then Sobol indices on the top ones.

The quantity analysed is the paired difference B - A of one outcome, averaged over R replicates
run on common random numbers (``sim.analysis.design``): replicate k of every parameter point and
of both scenarios uses the same seed and replicate index. This makes the analysed function
deterministic (the same point always gives the same value) and smooth in the parameters as far
as the model allows: the random draws are held fixed, so a change between two points is the
parameters' effect, not a new draw. Two sources of Monte Carlo noise remain, both shrinking as
1/sqrt(R): the difference of a finite mean from its expectation, and its dependence on which R
draws were used. A stochastic model sampled with fresh seeds would add that noise as variance no
parameter explains, inflating every total index; with CRN means it is a fixed error of the
function, reported by comparing indices at two R (the README does this).

Both analyses work on the unit cube: each parameter's range (``design.parameter_catalogue``)
is mapped to [0, 1], so a Morris mu* is the change of the outcome difference per full range of
the parameter. Morris (SALib: ``SALib.sample.morris``, ``SALib.analyze.morris``) screens every
parameter; Sobol first-order and total indices with bootstrap confidence intervals
(``scipy.stats.sobol_indices``, Saltelli 2010 estimators) are computed for the top k by mu*,
the others held at the scenario's values. The same functions pass the known answers of
``tests/analysis/test_sensitivity.py`` (Ishigami; a linear function for Morris).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim import __version__
from sim.analysis.design import (
    DesignScenario,
    Parameter,
    csv_text,
    evaluate_design,
    paired_design,
    paired_difference,
    range_table,
    unit_to_values,
)
from sim.results.files import write_text_atomic
from sim.results.manifest import git_commit, versions
from sim.results.outcomes import METRICS
from sim.scenario import LoadedScenario

UnitModel = Callable[[np.ndarray], np.ndarray]  # (n, k) points of the unit cube -> (n,)

DEFAULT_TRAJECTORIES = 20
DEFAULT_N = 128  # Sobol base sample (a power of 2): n * (k + 2) model runs
DEFAULT_TOP = 5
DEFAULT_REPLICATES = 100
MORRIS_LEVELS = 4
CONFIDENCE = 0.95
BOOTSTRAP = 999
SOBOL_COLUMNS = ("parameter", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi")


class SensitivityError(ValueError):
    """Invalid settings of a sensitivity analysis (a one-line message for the user)."""


def morris_screening(
    model: UnitModel,
    names: Sequence[str],
    trajectories: int,
    seed: int = 0,
    levels: int = MORRIS_LEVELS,
) -> pd.DataFrame:
    """Return Morris elementary-effect statistics of ``model`` over the unit cube.

    Parameters
    ----------
    model : callable
        Maps points (n, k) of the unit cube to outputs (n,).
    names : sequence of str
        The k parameter names.
    trajectories : int
        Morris trajectories (k + 1 model runs each).
    seed : int
        Seed of the sample and of the bootstrap of mu*'s confidence interval.
    levels : int
        Grid levels of the Morris design.

    Returns
    -------
    DataFrame
        parameter, mu_star, mu_star_conf, mu, sigma, ranked by mu_star (largest first).
    """
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    x = sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    y = np.asarray(model(x), dtype=float)
    if not np.all(np.isfinite(y)):
        raise SensitivityError("the outcome is undefined (NaN) at some design points")
    res = analyze.analyze(problem, x, y, num_levels=levels, conf_level=CONFIDENCE, seed=seed)
    df = pd.DataFrame(
        {
            "parameter": list(names),
            "mu_star": np.asarray(res["mu_star"], dtype=float),
            "mu_star_conf": np.asarray(res["mu_star_conf"], dtype=float),
            "mu": np.asarray(res["mu"], dtype=float),
            "sigma": np.asarray(res["sigma"], dtype=float),
        }
    )
    return df.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)


def sobol_analysis(
    model: UnitModel,
    names: Sequence[str],
    n: int,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    n_resamples: int = BOOTSTRAP,
) -> pd.DataFrame:
    """Return Sobol first-order and total indices with bootstrap confidence intervals.

    Parameters
    ----------
    model : callable
        Maps points (n, k) of the unit cube to outputs (n,).
    names : sequence of str
        The k parameter names.
    n : int
        Base sample size, a power of 2 (``scipy.stats.sobol_indices`` runs n (k + 2) points).
    seed : int
        Seed of the quasi-random sample and of the bootstrap.
    confidence : float
        Level of the bootstrap intervals.
    n_resamples : int
        Bootstrap resamples.

    Returns
    -------
    DataFrame
        Columns ``SOBOL_COLUMNS``, ranked by ST (largest first).
    """
    if n < 2 or n & (n - 1):
        raise SensitivityError(f"--n must be a power of 2 (Sobol base sample), got {n}")

    def func(x: np.ndarray) -> np.ndarray:  # scipy passes (k, m)
        y = np.asarray(model(x.T), dtype=float)
        if not np.all(np.isfinite(y)):
            raise SensitivityError("the outcome is undefined (NaN) at some design points")
        return y[np.newaxis, :]

    rng = np.random.default_rng(seed)
    dists = [stats.uniform(0.0, 1.0)] * len(names)
    res = stats.sobol_indices(func=func, n=n, dists=dists, rng=rng)
    s1, st = np.asarray(res.first_order).ravel(), np.asarray(res.total_order).ravel()
    s1_ci, st_ci = _seeded_bootstrap(res, rng, confidence, n_resamples)
    df = pd.DataFrame(
        {
            "parameter": list(names),
            "S1": s1,
            "S1_lo": np.asarray(s1_ci[0]).ravel(),
            "S1_hi": np.asarray(s1_ci[1]).ravel(),
            "ST": st,
            "ST_lo": np.asarray(st_ci[0]).ravel(),
            "ST_hi": np.asarray(st_ci[1]).ravel(),
        }
    )
    return df.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)


def _seeded_bootstrap(res, rng: np.random.Generator, confidence: float, n_resamples: int):
    """Return the BCa intervals of (S1, ST) that ``SobolResult.bootstrap`` computes, seeded.

    ``SobolResult.bootstrap`` takes no random generator, so its intervals change from run to run;
    this resamples the same evaluations with the same estimator through ``stats.bootstrap``
    with ``rng``, so a study's intervals are reproducible from its seed.
    """

    def statistic(idx: np.ndarray) -> np.ndarray:
        return res._indices_method(res._f_A[:, idx], res._f_B[:, idx], res._f_AB[..., idx])

    boot = stats.bootstrap(
        [np.arange(res._f_A.shape[1])],
        statistic,
        method="BCa",
        n_resamples=n_resamples,
        confidence_level=confidence,
        rng=rng,
    )
    low, high = boot.confidence_interval.low, boot.confidence_interval.high
    return (low[0], high[0]), (low[1], high[1])


def difference_model(
    pair: Sequence[DesignScenario],
    params: Sequence[Parameter],
    outcome: str,
    replicates: int,
    counter: list[int] | None = None,
) -> UnitModel:
    """Return the unit-cube model x -> mean over replicates of outcome(B) - outcome(A) (CRN).

    ``counter``, if given, accumulates the number of design points evaluated.
    """

    def model(unit: np.ndarray) -> np.ndarray:
        values = unit_to_values(params, unit)
        res = evaluate_design(pair, params, values, replicates)
        if counter is not None:
            counter[0] += values.shape[0]
        return paired_difference(res, outcome)

    return model


def uncertainties(pair: Sequence[DesignScenario]) -> list[Parameter]:
    """Return the parameters analysed: the catalogue less the declared policy levers."""
    return [p for p in pair[0].catalogue if not p.lever]


@dataclass
class SensitivityResult:
    """What ``run_sensitivity`` computed and wrote."""

    morris: pd.DataFrame
    sobol: pd.DataFrame
    files: list[Path]
    points: int
    seconds: float


def run_sensitivity(
    a: LoadedScenario,
    b: LoadedScenario,
    outcome: str,
    out: Path,
    n: int = DEFAULT_N,
    trajectories: int = DEFAULT_TRAJECTORIES,
    top: int = DEFAULT_TOP,
    replicates: int = DEFAULT_REPLICATES,
    seed: int | None = None,
    argv: Sequence[str] | None = None,
    draw: Callable[[pd.DataFrame, pd.DataFrame, str, Path], list[Path]] | None = None,
) -> SensitivityResult:
    """Run Morris over every parameter, then Sobol on the top ``top``; write the results.

    Writes ``morris.csv``, ``sobol.csv``, ``ranges.csv`` (each parameter's range and its rule),
    the chart (``draw``) and ``manifest.json`` to ``out``.

    Parameters
    ----------
    a, b : LoadedScenario
        The scenarios compared (the difference is B - A).
    outcome : str
        One of ``METRICS``.
    out : Path
        Output directory.
    n, trajectories, top, replicates : int
        Sobol base sample, Morris trajectories, parameters passed to Sobol, replicates per point.
    seed : int, optional
        Seed of the simulations (default: A's seed) and of the samples.
    argv : sequence of str, optional
        The command line, recorded in the manifest.
    draw : callable, optional
        Draws the ranked chart: (morris, sobol, title, out) -> written paths (the figures live
        in the report layer, above this one).

    Returns
    -------
    SensitivityResult
    """
    if outcome not in METRICS:
        raise SensitivityError(f"--outcome {outcome!r}: expected one of {', '.join(METRICS)}")
    for name, v in (("--trajectories", trajectories), ("--top", top), ("--replicates", replicates)):
        if v < 1:
            raise SensitivityError(f"{name} must be at least 1, got {v}")
    if n < 2 or n & (n - 1):
        raise SensitivityError(f"--n must be a power of 2 (Sobol base sample), got {n}")
    sa, sb = a.scenario, b.scenario
    t0 = time.perf_counter()
    pair, seed = paired_design(a, b, seed, SensitivityError)
    params = uncertainties(pair)
    names = [p.path for p in params]
    counter = [0]
    morris = morris_screening(
        difference_model(pair, params, outcome, replicates, counter), names, trajectories, seed
    )
    chosen = [p for name in morris["parameter"][:top] for p in params if p.path == name]
    sobol = sobol_analysis(
        difference_model(pair, chosen, outcome, replicates, counter),
        [p.path for p in chosen],
        n,
        seed,
    )
    seconds = time.perf_counter() - t0
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranges = pd.DataFrame(
        range_table(params), columns=["parameter", "default", "low", "high", "rule"]
    )
    files = []
    for fname, df in (("morris.csv", morris), ("sobol.csv", sobol), ("ranges.csv", ranges)):
        write_text_atomic(csv_text(df), out / fname)
        files.append(out / fname)
    if draw is not None:
        files += draw(morris, sobol, f"{sb.name} - {sa.name}: {outcome}", out)
    manifest = {
        "escsim_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "analysis": "sensitivity",
        "scenarios": [
            {"name": s.scenario.name, "path": s.path, "sha256": s.sha256, "text": s.text}
            for s in (a, b)
        ],
        "difference": f"{sb.name} - {sa.name}",
        "outcome": outcome,
        "seed": seed,
        "replicates": replicates,
        "morris": {"trajectories": trajectories, "levels": MORRIS_LEVELS},
        "sobol": {"n": n, "top": top, "confidence": CONFIDENCE, "bootstrap": BOOTSTRAP},
        "design_points": counter[0],
        "replicate_runs": counter[0] * 2 * replicates,
        "wall_seconds": round(seconds, 3),
        "versions": versions(),
        "git_commit": git_commit(),
        "command": list(argv) if argv is not None else None,
    }
    write_text_atomic(json.dumps(manifest, indent=2), out / "manifest.json")
    files.append(out / "manifest.json")
    return SensitivityResult(morris, sobol, files, counter[0], seconds)
