"""Checks of a posterior: predictive coverage and PIT per tally, identifiability, information.

* ``posterior_predictive``: for draws of the posterior, simulate the tallies (replicates
  disjoint from the fit's) and pass them through the observation model (the draw's model
  discrepancy, ``observation.perturb``, then binomial thinning with the draw's detection
  rate), giving the predictive distribution of each REPORT; without the discrepancy, the
  distribution of the model alone (both are reported: the tallies covered only with it are
  the ones the model itself misses).
* ``coverage_table``: 90% predictive interval per tally; exact counts are covered when the
  count lies inside, approximate ones when their ±20% interval overlaps it; lower bounds are
  listed with "consistent" (the interval reaches the bound) but never counted as covered.
  Exact counts also get their mid-PIT (P(Y < c) + P(Y = c) / 2).
* ``identifiability``: posterior against prior 90% width per parameter, pairwise rank
  correlations, and the parameters the data do not pin down.
* ``participation_ratio``: the effective number of independent tallies, (sum l)^2 / sum l^2
  over the eigenvalues l of the simulated correlation matrix of the fitted tallies.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.analysis import observed as O
from sim.analysis.calibrate import parameters as P
from sim.analysis.calibrate.observation import perturb
from sim.engines.kernel import run_kernel
from sim.model.world import World

CHECK_OFFSET = 1_000_000
"""First replicate of predictive checks: disjoint from the replicates the fit simulated."""
WEAK = 0.8
"""A posterior 90% interval wider than this share of the prior's: not pinned down."""
PARTIAL = 0.5
"""Between PARTIAL and WEAK: weakly informed; below PARTIAL: informed."""


def posterior_predictive(
    world: World,
    tallies: pd.DataFrame,
    names: tuple[str, ...],
    draws: np.ndarray,
    detection: Callable[[np.ndarray, str], float],
    reps_per_draw: int,
    seed: int,
    discrepancy: Callable[[np.ndarray], float] | None = None,
    chains: tuple[np.ndarray, ...] = (),
) -> np.ndarray:
    """Return simulated reports (draws * reps_per_draw, K) of ``tallies`` under posterior draws.

    Parameters
    ----------
    world : World
        The compiled scenario (without calibration) over the predictive horizon.
    tallies : pandas.DataFrame
        Tallies to predict (``counter_id``, ``bound`` used for thinning).
    names : tuple of str
        Parameter names (columns of ``draws``).
    draws : ndarray (M, d)
        Posterior draws (natural values).
    detection : callable
        (draw, counter_id) -> detection rate of that counter under the draw.
    reps_per_draw : int
        Replicates per draw (replicate ranges start at ``CHECK_OFFSET``, disjoint per draw).
    seed : int
        Seed of the thinning draws.
    discrepancy : callable, optional
        draw -> model discrepancy ``cv`` (``observation.perturb``); None: the model alone.
        The latent counts are the same with and without it (same replicates; the factors
        use their own random stream).
    chains : tuple of ndarray
        Nested running totals among ``tallies`` (their increments get independent factors).

    Returns
    -------
    ndarray of int64
    """
    rng = np.random.default_rng([seed, 7])
    rng_d = np.random.default_rng([seed, 11])
    spec = O.compile_tallies(tallies, world.start)
    counters = tallies["counter_id"].astype(str).to_numpy()
    lower = tallies["bound"].to_numpy(str) == "lower"
    out = []
    for m, theta in enumerate(draws):
        w = P.apply_params(world, names, theta)
        start = CHECK_OFFSET + m * reps_per_draw
        rec, reps = run_kernel(w, start, reps_per_draw)
        x = O.tally_matrix(rec, reps, start, reps_per_draw, spec)
        if discrepancy is not None:
            x = perturb(x, chains, discrepancy(theta), rng_d)
        p = np.array(
            [1.0 if lo else detection(theta, c) for c, lo in zip(counters, lower, strict=True)]
        )
        out.append(rng.binomial(x, np.broadcast_to(p, x.shape)))
    return np.vstack(out).astype(np.int64)


def loglik_noise(
    loglik: Callable[[np.ndarray, int], float],
    draws: np.ndarray,
    rep_starts: tuple[int, ...],
) -> np.ndarray:
    """Return, per draw, the sd of the synthetic log likelihood over independent replicate sets.

    The fit uses one set of replicates (common random numbers); the spread over other sets
    measures the Monte Carlo noise the fixed set carries into the posterior (an sd above
    about 2 makes the likelihood surface rough: narrow posteriors may then be noise).

    Parameters
    ----------
    loglik : callable
        (theta, rep_start) -> log likelihood.
    draws : ndarray (M, d)
        Parameter values (natural units).
    rep_starts : tuple of int
        First replicate of each independent set (at least two).

    Returns
    -------
    ndarray (M,)
    """
    ll = np.array([[loglik(th, r) for r in rep_starts] for th in draws])
    return ll.std(axis=1, ddof=1)


def coverage_table(sim: np.ndarray, tallies: pd.DataFrame) -> pd.DataFrame:
    """Return per tally the predictive quantiles, coverage and mid-PIT.

    Parameters
    ----------
    sim : ndarray (R, K)
        Predictive reports.
    tallies : pandas.DataFrame
        The K tallies.

    Returns
    -------
    pandas.DataFrame
        Columns id, window, count, bound, q05, q50, q95, mean, covered (exact/approx: inside
        the 90% interval; NaN for lower bounds), consistent (lower bounds: q95 >= count),
        pit (exact only), logprob (moment-matched NB, ``sim.analysis.observed.count_logprob``).
    """
    q = np.quantile(sim, [0.05, 0.5, 0.95], axis=0, method="inverted_cdf").astype(np.int64)
    c = tallies["count"].to_numpy(np.int64)
    b = tallies["bound"].to_numpy(str)
    cons = O.consistent(q[0], q[2], c, b)
    covered = np.where(b == "lower", np.nan, cons.astype(float))
    below = (sim < c).mean(axis=0)
    equal = (sim == c).mean(axis=0)
    pit = np.where(b == "exact", below + 0.5 * equal, np.nan)
    var = sim.var(axis=0, ddof=1) if sim.shape[0] > 1 else sim.mean(axis=0)
    window = [
        f"{s.date()} to {e.date()}" for s, e in zip(tallies["start"], tallies["end"], strict=True)
    ]
    return pd.DataFrame(
        {
            "id": tallies["id"].to_numpy(),
            "window": window,
            "counter_id": tallies["counter_id"].to_numpy(),
            "count": c,
            "bound": b,
            "q05": q[0],
            "q50": q[1],
            "q95": q[2],
            "mean": sim.mean(axis=0),
            "covered": covered,
            "consistent": np.where(b == "lower", cons, np.nan),
            "pit": pit,
            "logprob": O.count_logprob(sim.mean(axis=0), var, c, b),
        }
    )


def coverage(table: pd.DataFrame) -> float:
    """Return the share of exact and approximate tallies covered (NaN if there are none)."""
    x = table["covered"].dropna()
    return float(x.mean()) if len(x) else float("nan")


def participation_ratio(sim: np.ndarray) -> tuple[float, int]:
    """Return (participation ratio, number of tallies used) of simulated tallies.

    Tallies that never vary in the simulations are left out (no correlation is defined).
    """
    x = np.asarray(sim, dtype=float)
    keep = x.std(axis=0) > 0
    if keep.sum() < 2:
        return float(keep.sum()), int(keep.sum())
    r = np.corrcoef(x[:, keep], rowvar=False)
    lam = np.clip(np.linalg.eigvalsh(r), 0.0, None)
    return float(lam.sum() ** 2 / (lam * lam).sum()), int(keep.sum())


def identifiability(
    params: tuple[P.Param, ...], theta: np.ndarray, z: np.ndarray, threshold: float = 0.4
) -> tuple[pd.DataFrame, list[tuple[str, str, float]]]:
    """Return the posterior-vs-prior table and the strongly correlated pairs.

    Parameters
    ----------
    params : tuple of Param
        The estimated parameters.
    theta : ndarray (N, d)
        Posterior draws, natural values.
    z : ndarray (N, d)
        The same draws in sampler coordinates (for rank correlations any monotone map works).
    threshold : float
        Pairs with |Spearman rho| at or above this are returned.

    Returns
    -------
    table : pandas.DataFrame
        name, prior_q05, prior_q50, prior_q95, post_q05, post_q50, post_q95, width_ratio
        (posterior 90% width / prior 90% width), verdict (informed / weakly informed /
        not pinned down).
    pairs : list of (name, name, rho)
    """
    from scipy.stats import spearmanr

    rows = []
    for k, p in enumerate(params):
        pq = p.prior.ppf(np.array([0.05, 0.5, 0.95]))
        q = np.quantile(theta[:, k], [0.05, 0.5, 0.95])
        ratio = float((q[2] - q[0]) / (pq[2] - pq[0])) if pq[2] > pq[0] else float("nan")
        verdict = (
            "not pinned down"
            if ratio > WEAK
            else ("weakly informed" if ratio > PARTIAL else "informed")
        )
        rows.append(
            {
                "name": p.name,
                "prior": p.prior.describe(),
                "prior_q05": pq[0],
                "prior_q50": pq[1],
                "prior_q95": pq[2],
                "post_q05": q[0],
                "post_q50": q[1],
                "post_q95": q[2],
                "width_ratio": ratio,
                "verdict": verdict,
            }
        )
    pairs = []
    if theta.shape[0] >= 3:
        rho = np.atleast_2d(spearmanr(z).statistic)
        for i in range(len(params)):
            for j in range(i + 1, len(params)):
                if np.isfinite(rho[i, j]) and abs(rho[i, j]) >= threshold:
                    pairs.append((params[i].name, params[j].name, float(rho[i, j])))
        pairs.sort(key=lambda t: -abs(t[2]))
    return pd.DataFrame(rows), pairs
