"""The synthetic likelihood of the fitted tallies: simulate, then score with the observation model.

A candidate (model parameters + detection rates) is written into the compiled ``World`` by
``parameters.apply_params``, simulated by the batch kernel with the SAME seed and replicates
for every candidate (common random numbers: the likelihood is a deterministic function of the
parameters), counted under each tally's rule (``sim.analysis.observed.tally_matrix``) and
scored by ``observation.ObservationModel`` (with the model discrepancy ``discrepancy.cv`` when
it is among the parameters, ``observation.discrepancy_moments``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis import observed as O
from sim.analysis.calibrate import parameters as P
from sim.analysis.calibrate.observation import DISCREPANCY, ObservationModel
from sim.engines.kernel import run_kernel
from sim.model.world import World, compile_world
from sim.scenario import Scenario


@dataclass
class Problem:
    """Fitted tallies, the world they are simulated in, the parameters and the budget."""

    world: World
    fitted: pd.DataFrame
    spec: O.TallySpec
    obs: ObservationModel
    params: tuple[P.Param, ...]
    seed: int
    runs: int
    n_evals: int = field(default=0)

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in sampler order."""
        return tuple(p.name for p in self.params)

    @property
    def n_model(self) -> int:
        """Number of model parameters (they come first; detection rates follow)."""
        return sum(1 for p in self.params if p.name in P.TARGETS)

    def to_z(self, theta: np.ndarray) -> np.ndarray:
        """Map natural values to sampler coordinates."""
        return np.array([p.prior.to_z(v) for p, v in zip(self.params, theta, strict=True)])

    def from_z(self, z: np.ndarray) -> np.ndarray:
        """Map sampler coordinates to natural values."""
        return np.array([p.prior.from_z(v) for p, v in zip(self.params, z, strict=True)])

    def logprior_z(self, z: np.ndarray) -> float:
        """Return the log prior density at sampler coordinates ``z``."""
        return float(sum(p.prior.logpdf_z(v) for p, v in zip(self.params, z, strict=True)))

    def prior_draws(self, n: int, seed: int) -> np.ndarray:
        """Return ``n`` prior draws in sampler coordinates (scrambled Sobol, seeded)."""
        from scipy.stats import qmc

        m = max(1, int(np.ceil(np.log2(max(2, n)))))
        u = qmc.Sobol(len(self.params), scramble=True, rng=seed).random_base2(m)[:n]
        u = np.clip(u, 1e-9, 1.0 - 1e-9)
        x = np.column_stack([p.prior.ppf(u[:, k]) for k, p in enumerate(self.params)])
        return np.array([self.to_z(row) for row in x])

    def simulate(
        self, theta: np.ndarray, runs: int | None = None, rep_start: int = 0, spec=None
    ) -> np.ndarray:
        """Return the (runs, K) matrix of simulated latent tallies for natural values ``theta``."""
        n = self.runs if runs is None else runs
        w = P.apply_params(self.world, self.names, theta)
        rec, reps = run_kernel(w, rep_start, n)
        self.n_evals += 1
        return O.tally_matrix(rec, reps, rep_start, n, spec or self.spec)

    def detection(self, theta: np.ndarray) -> np.ndarray:
        """Return the detection rates in ``self.obs.detection_names`` order."""
        idx = {n: i for i, n in enumerate(self.names)}
        return np.array([theta[idx[n]] for n in self.obs.detection_names], dtype=float)

    def discrepancy(self, theta: np.ndarray) -> float:
        """Return the model discrepancy ``discrepancy.cv`` of ``theta`` (0 if not estimated)."""
        names = self.names
        return float(theta[names.index(DISCREPANCY)]) if DISCREPANCY in names else 0.0

    def loglik(self, theta: np.ndarray, rep_start: int = 0) -> float:
        """Return the synthetic log likelihood at natural values ``theta``.

        ``rep_start`` selects the replicates (the fit always uses 0: common random numbers;
        other values measure the likelihood's Monte Carlo noise).
        """
        sim = self.simulate(theta, rep_start=rep_start)
        return self.obs.loglik(sim, self.detection(theta), self.discrepancy(theta))

    def loglik_z(self, z: np.ndarray) -> float:
        """Return the synthetic log likelihood at sampler coordinates ``z``."""
        return self.loglik(self.from_z(z))


def horizon_world(scenario: Scenario, seed: int, last: pd.Timestamp) -> World:
    """Compile ``scenario`` with ``seed`` and cut it after the day ``last``."""
    world = dataclasses.replace(compile_world(scenario), seed=seed)
    n = (last.date() - world.start).days + 1
    return dataclasses.replace(world, n_days=int(min(world.n_days, n)))


def make_problem(
    scenario: Scenario,
    fitted: pd.DataFrame,
    all_tallies: pd.DataFrame,
    seed: int,
    runs: int,
    model_params: tuple[P.Param, ...] = P.MODEL_PARAMETERS,
    discrepancy: bool = True,
) -> Problem:
    """Build the calibration problem for the fitted tallies.

    Parameters
    ----------
    scenario : Scenario
        The scenario without calibration (``parameters.base_scenario``).
    fitted : pandas.DataFrame
        Fitted tallies (status ``fit`` of ``observation.select``), all inside the horizon.
    all_tallies : pandas.DataFrame
        Every tally (chains are followed through rows that are not fitted).
    seed : int
        Seed of the common random numbers.
    runs : int
        Replicates per candidate.
    model_params : tuple of Param
        Model parameters (detection rates are added for the fitted counters).
    discrepancy : bool
        Estimate the model discrepancy ``discrepancy.cv`` too (last parameter); without it
        the likelihood is the model's alone.

    Returns
    -------
    Problem
    """
    fitted = fitted.reset_index(drop=True)
    world = horizon_world(scenario, seed, fitted["end"].max())
    obs = ObservationModel.build(fitted, all_tallies)
    det = P.detection_parameters([n.split(".", 1)[1] for n in obs.detection_names])
    spec = O.compile_tallies(fitted, world.start)
    extra = (P.DISCREPANCY_PARAMETER,) if discrepancy else ()
    return Problem(world, fitted, spec, obs, tuple(model_params) + det + extra, seed, runs)
