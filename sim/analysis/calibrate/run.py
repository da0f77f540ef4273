"""The whole calibration: select the data, sample the posterior, check it, summarise it.

``run_calibration`` computes everything ``escsim calibrate`` writes (``sim.report.calibration``
writes it): the posterior sample (likelihood-tempered SMC on the synthetic likelihood of
``likelihood.Problem``), its summary as a fitted.yaml overlay (posterior medians), the
posterior predictive coverage of the fitted and the held-out tallies, identifiability and the
effective number of independent tallies. Same seed, same numbers (common random numbers for
the likelihood; seeded Sobol prior draws, resampling, moves and thinning).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import observed as O
from sim.analysis.calibrate import checks as K
from sim.analysis.calibrate import parameters as P
from sim.analysis.calibrate.likelihood import Problem, horizon_world, make_problem
from sim.analysis.calibrate.observation import blocks, select
from sim.analysis.calibrate.sampler import SmcResult, SmcSettings, smc
from sim.scenario import Scenario

REPO = O.DATA_DIR.parent.parent
DEFAULT_SCENARIO = REPO / "scenarios" / "historical.yaml"
DEFAULT_OUT = O.DATA_DIR.parent
MIN_PARTICLES_FOR_VERDICTS = 100
"""Below this many draws (or before the tempering reaches phi = 1) widths are not judged."""


@dataclass(frozen=True)
class Settings:
    """Seed and budget of one calibration (``quick`` is a smoke-test budget).

    The defaults are the budget of the committed ``calibration/`` (128 particles x 40 replicates
    per likelihood evaluation), so ``escsim calibrate`` reproduces it.
    """

    seed: int
    particles: int = 128
    runs: int = 40
    min_moves: int = 2
    max_moves: int = 6
    max_stages: int = 40
    check_draws: int = 200
    check_reps: int = 5
    pr_runs: int = 400
    noise_draws: int = 10
    noise_sets: int = 4
    discrepancy: bool = True
    smoke: bool = False

    @classmethod
    def quick(cls, seed: int) -> Settings:
        """Return a tiny budget for tests and smoke runs (seconds once numba is compiled)."""
        return cls(
            seed=seed,
            particles=12,
            runs=4,
            min_moves=1,
            max_moves=1,
            max_stages=3,
            check_draws=4,
            check_reps=5,
            pr_runs=20,
            noise_draws=2,
            noise_sets=2,
            smoke=True,
        )

    def smc(self) -> SmcSettings:
        """Return the sampler's settings."""
        return SmcSettings(
            particles=self.particles,
            min_moves=self.min_moves,
            max_moves=self.max_moves,
            max_stages=self.max_stages,
            seed=self.seed,
        )


@dataclass
class Calibration:
    """Everything one ``escsim calibrate`` computes."""

    settings: Settings
    scenario_path: Path
    base: Scenario
    data_until: dt.date | None
    tallies: pd.DataFrame  # all tallies with ``status``
    problem: Problem
    result: SmcResult
    posterior: pd.DataFrame  # one row per draw: parameter columns + weight
    median: np.ndarray  # posterior median per parameter
    fitted_text: str
    fitted_check: pd.DataFrame  # coverage table of the fitted tallies (with the discrepancy)
    heldout_check: pd.DataFrame  # coverage table of held-out tallies (may be empty)
    identifiability: pd.DataFrame
    pairs: list[tuple[str, str, float]]
    participation: tuple[float, int]
    chains: list[str]
    loglik_sd: np.ndarray  # per checked draw: sd of the log likelihood over replicate sets
    timings: dict[str, float]
    fitted_check_model: pd.DataFrame  # the same without the discrepancy (the model alone)
    heldout_check_model: pd.DataFrame

    @property
    def coverage90(self) -> float:
        """Share of fitted exact/approximate tallies inside their 90% predictive interval."""
        return K.coverage(self.fitted_check)

    @property
    def coverage90_model(self) -> float:
        """The same share for the model alone (no discrepancy term)."""
        return K.coverage(self.fitted_check_model)

    @property
    def has_discrepancy(self) -> bool:
        """True when the model discrepancy ``discrepancy.cv`` was estimated."""
        return P.DISCREPANCY_PARAMETER.name in self.problem.names


def _posterior_frame(problem: Problem, theta: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(theta, columns=list(problem.names))
    df["weight"] = weight
    return df


def run_calibration(
    settings: Settings,
    scenario_path: Path = DEFAULT_SCENARIO,
    data_until: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """Sample the posterior, check it and summarise it.

    Parameters
    ----------
    settings : Settings
        Seed and budget.
    scenario_path : Path
        The scenario to calibrate (its ``calibration`` overlay is ignored while fitting).
    data_until : datetime.date, optional
        Fit only tallies whose window ends on or before this date; score the later ones.
    progress : callable, optional
        Status lines.

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        If no tally is left to fit.
    """
    from sim import __version__

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    base = P.base_scenario(scenario_path)
    tallies = select(O.load_tallies(), base.start, base.end, data_until)
    fitted = tallies[tallies["status"] == "fit"].reset_index(drop=True)
    held = tallies[tallies["status"] == "held_out"].reset_index(drop=True)
    if fitted.empty:
        raise ValueError(
            f"no tally to fit: none of use=fit ends on or before {data_until} inside the "
            f"scenario's horizon {base.start} - {base.end}"
        )
    problem = make_problem(
        base, fitted, tallies, settings.seed, settings.runs, discrepancy=settings.discrepancy
    )
    say(
        f"sampling {len(problem.params)} parameters given {len(fitted)} tallies "
        f"({len(problem.obs.blocks.chains)} nested chains) by SMC: {settings.particles} "
        f"particles x {settings.runs} replicates per evaluation"
    )
    t = time.perf_counter()
    z0 = problem.prior_draws(settings.particles, settings.seed)
    res = smc(problem.loglik_z, problem.logprior_z, z0, settings.smc(), say)
    timings["smc"] = time.perf_counter() - t
    theta = np.array([problem.from_z(z) for z in res.z])
    posterior = _posterior_frame(problem, theta, res.weight)
    median = np.array([P.round_sig(float(v)) for v in np.median(theta, axis=0)])
    # summary overlay
    q = np.quantile(theta, [0.05, 0.95], axis=0)
    block = {
        "seed": settings.seed,
        "method": "likelihood-tempered SMC on a synthetic likelihood (common random numbers)",
        "summary": "posterior median of each parameter (marginal medians)",
        "particles": settings.particles,
        "runs_per_evaluation": settings.runs,
        "stages": len(res.stages),
        "evaluations": res.evaluations,
        "reached_posterior": res.converged,
        "data_until": str(data_until) if data_until else None,
        "tallies": list(fitted["id"]),
        "date_range": [str(fitted["start"].min().date()), str(fitted["end"].max().date())],
        "parameters": {
            name: {
                "median": float(median[k]),
                "q05": P.round_sig(float(q[0, k])),
                "q95": P.round_sig(float(q[1, k])),
            }
            for k, name in enumerate(problem.names)
        },
        "scenario": Path(scenario_path).name,
        "escsim_version": __version__,
    }
    text = P.fitted_yaml(base, problem.names, median, block)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fitted.yaml").write_text(text, encoding="utf-8")
        P.scenario_with_fit(scenario_path, Path(tmp) / "fitted.yaml")  # the overlay loads
    # posterior predictive over fitted and held-out tallies
    t = time.perf_counter()
    pred = pd.concat([fitted, held], ignore_index=True)
    world = horizon_world(base, settings.seed, pred["end"].max())
    rng = np.random.default_rng([settings.seed, 3])
    pick = rng.choice(len(theta), size=min(settings.check_draws, len(theta)), replace=False)
    idx = {n: i for i, n in enumerate(problem.names)}
    det_params = {
        p.name: p for p in P.detection_parameters(sorted(pred["counter_id"].astype(str).unique()))
    }

    def detection(draw: np.ndarray, counter: str) -> float:
        name = f"detection.{counter}"
        if name in idx:
            return float(draw[idx[name]])
        return float(det_params[name].prior.ppf(np.array([0.5]))[0])  # unseen counter

    say(f"posterior predictive: {len(pick)} draws x {settings.check_reps} replicates")
    chains = blocks(pred, tallies).chains
    tables = {}
    for label, disc in (("model", None), ("predictive", problem.discrepancy)):
        if label == "predictive" and not settings.discrepancy:
            tables[label] = tables["model"]
            continue
        sim = K.posterior_predictive(
            world,
            pred,
            problem.names,
            theta[np.sort(pick)],
            detection,
            settings.check_reps,
            settings.seed,
            discrepancy=disc,
            chains=chains,
        )
        tables[label] = K.coverage_table(sim, pred)
    table, table_model = tables["predictive"], tables["model"]
    fitted_check = table.iloc[: len(fitted)].reset_index(drop=True)
    heldout_check = table.iloc[len(fitted) :].reset_index(drop=True)
    fitted_check_model = table_model.iloc[: len(fitted)].reset_index(drop=True)
    heldout_check_model = table_model.iloc[len(fitted) :].reset_index(drop=True)
    timings["check"] = time.perf_counter() - t
    # effective number of independent tallies at the posterior median
    w_med = P.apply_params(problem.world, problem.names, median)
    from sim.engines.kernel import run_kernel

    rec, reps = run_kernel(w_med, K.CHECK_OFFSET, settings.pr_runs)
    xm = O.tally_matrix(rec, reps, K.CHECK_OFFSET, settings.pr_runs, problem.spec)
    pr = K.participation_ratio(xm)
    noise_draws = theta[np.sort(pick[: settings.noise_draws])]
    starts = tuple(K.CHECK_OFFSET * (k + 2) for k in range(settings.noise_sets))
    say(f"likelihood noise: {len(noise_draws)} draws x {len(starts)} replicate sets")
    noise = K.loglik_noise(problem.loglik, noise_draws, starts)
    ident, pairs = K.identifiability(problem.params, theta, res.z)
    if not res.converged or settings.particles < MIN_PARTICLES_FOR_VERDICTS:
        why = "phi < 1" if not res.converged else f"fewer than {MIN_PARTICLES_FOR_VERDICTS} draws"
        ident["verdict"] = f"not assessed ({why})"
    timings["total"] = time.perf_counter() - t_all
    return Calibration(
        settings,
        Path(scenario_path),
        base,
        data_until,
        tallies,
        problem,
        res,
        posterior,
        median,
        text,
        fitted_check,
        heldout_check,
        ident,
        pairs,
        pr,
        problem.obs.blocks.describe(problem.obs.ids),
        noise,
        timings,
        fitted_check_model,
        heldout_check_model,
    )


__all__ = ["DEFAULT_OUT", "DEFAULT_SCENARIO", "Calibration", "Settings", "run_calibration"]
