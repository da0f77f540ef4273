"""Proper scores of count forecasts given as probability mass functions on 0..K-1.

Every method (model and baselines) hands over a predictive pmf of each target on a common
integer grid, so all are scored by the same code:

* **log score** ``log P(report)``: an exact count scores its pmf; an approximate count the
  probability of its interval (``sim.analysis.observed.approx_interval``); a **lower bound**
  ("at least N") the probability of ``>= N``. Lower bounds are the only censored reports; they
  have a log score but no CRPS, WIS or PIT (their true value is unknown), and the scoreboard
  reports them APART from exact and approximate counts (column ``bound``).
* **CRPS** ``sum_k (F(k) - 1[y <= k])^2`` at the reported value (approximate counts too).
* **WIS** (weighted interval score, Bracher et al. 2021) from the pmf's quantiles, computed
  by ``scoringrules.weighted_interval_score``.
* **randomised PIT** ``F(y - 1) + U (F(y) - F(y - 1))`` (Czado et al. 2009); for an approximate
  count U spreads over its whole interval.
* **paired differences** of scores with a moving-block bootstrap (Kunsch 1989) over targets
  ordered by time.
"""

from __future__ import annotations

import numpy as np
import scoringrules as sr
from scipy import stats

from sim.analysis import observed as O

WIS_ALPHAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
"""Interval levels of the WIS (the 23-quantile set of the forecast hubs)."""
LOG_FLOOR = O.LOG_FLOOR


def nb_pmf(mean: np.ndarray, var: np.ndarray, grid: int) -> np.ndarray:
    """Return moment-matched count pmfs (NB if overdispersed, else Poisson) on 0..grid-1.

    Parameters
    ----------
    mean, var : ndarray (N,)
        Predictive moments.
    grid : int
        Grid size; the mass beyond the grid is put on its last cell.

    Returns
    -------
    ndarray (N, grid)
    """
    m = np.maximum(np.atleast_1d(np.asarray(mean, dtype=float)), 1e-3)
    v = np.atleast_1d(np.asarray(var, dtype=float))
    k = np.arange(grid)
    over = v > m * (1.0 + 1e-9)
    vs = np.where(over, v, 2.0 * m)
    nb = stats.nbinom.pmf(k[None, :], (m * m / (vs - m))[:, None], (m / vs)[:, None])
    po = stats.poisson.pmf(k[None, :], m[:, None])
    p = np.where(over[:, None], nb, po)
    p[:, -1] += np.clip(1.0 - p.sum(axis=1), 0.0, None)
    return p


def _cdf(pmf: np.ndarray) -> np.ndarray:
    return np.clip(np.cumsum(pmf, axis=-1), 0.0, 1.0)


def log_score(pmf: np.ndarray, count: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Return the log score (log probability of the report; higher is better).

    Parameters
    ----------
    pmf : ndarray (N, K)
        Predictive pmfs.
    count : ndarray (N,) int
        Reported counts.
    bound : ndarray (N,) str
        ``exact``, ``approx`` or ``lower``.

    Returns
    -------
    ndarray (N,)
        Floored at ``LOG_FLOOR``.
    """
    k = pmf.shape[1]
    c = np.clip(np.asarray(count, dtype=np.int64), 0, k - 1)
    b = np.asarray(bound).astype(str)
    cdf = _cdf(pmf)
    lo, hi = O.approx_interval(c)
    lo, hi = np.clip(lo, 0, k - 1), np.clip(hi, 0, k - 1)
    rows = np.arange(len(c))
    below = lambda j: np.where(j > 0, cdf[rows, np.maximum(j - 1, 0)], 0.0)  # noqa: E731
    p = np.where(
        b == "exact",
        pmf[rows, c],
        np.where(b == "approx", cdf[rows, hi] - below(lo), 1.0 - below(c)),
    )
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(np.clip(p, 0.0, None)), LOG_FLOOR)


def crps(pmf: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the CRPS of integer outcomes ``y`` under pmfs on the grid (lower is better)."""
    k = np.arange(pmf.shape[1])
    ind = (np.asarray(y)[:, None] <= k[None, :]).astype(float)
    return np.sum((_cdf(pmf) - ind) ** 2, axis=1)


def quantiles(pmf: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Return the (lower) quantiles ``min{k: F(k) >= q}`` of each pmf: shape (N, len(q))."""
    cdf = _cdf(pmf)
    return np.array([np.searchsorted(row, q - 1e-12) for row in cdf], dtype=float)


def wis(pmf: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the weighted interval score (``scoringrules.weighted_interval_score``)."""
    a = WIS_ALPHAS
    qs = quantiles(pmf, np.concatenate([a / 2, [0.5], 1 - a / 2]))
    n = len(a)
    out = sr.weighted_interval_score(
        np.asarray(y, dtype=float), qs[:, n], qs[:, :n], qs[:, n + 1 :], a
    )
    return np.asarray(out, dtype=float)


def pit(
    pmf: np.ndarray, count: np.ndarray, bound: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Return randomised PIT values (NaN for lower bounds, which are censored)."""
    k = pmf.shape[1]
    c = np.clip(np.asarray(count, dtype=np.int64), 0, k - 1)
    b = np.asarray(bound).astype(str)
    lo, hi = O.approx_interval(c)
    lo = np.where(b == "approx", np.clip(lo, 0, k - 1), c)
    hi = np.where(b == "approx", np.clip(hi, 0, k - 1), c)
    cdf = _cdf(pmf)
    rows = np.arange(len(c))
    f_lo = np.where(lo > 0, cdf[rows, np.maximum(lo - 1, 0)], 0.0)
    f_hi = cdf[rows, hi]
    u = rng.random(len(c))
    return np.where(b == "lower", np.nan, f_lo + u * (f_hi - f_lo))


def score_all(
    pmf: np.ndarray, count: np.ndarray, bound: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Return log score, CRPS, WIS and PIT of each report (CRPS, WIS, PIT NaN for lower bounds)."""
    b = np.asarray(bound).astype(str)
    lower = b == "lower"
    y = np.asarray(count, dtype=np.int64)
    return {
        "log_score": log_score(pmf, y, b),
        "crps": np.where(lower, np.nan, crps(pmf, y)),
        "wis": np.where(lower, np.nan, wis(pmf, y)),
        "pit": pit(pmf, y, b, rng),
    }


def block_bootstrap_mean(
    d: np.ndarray, block: int = 3, n_boot: int = 2000, seed: int = 0, level: float = 0.9
) -> tuple[float, float, float]:
    """Return the mean of paired differences and a moving-block bootstrap interval.

    Parameters
    ----------
    d : ndarray (N,)
        Paired score differences in time order (NaN dropped).
    block : int
        Block length (consecutive targets resampled together keep short-range dependence).
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seed.
    level : float
        Central probability of the interval.

    Returns
    -------
    tuple of float
        (mean, lower, upper); NaN when there are no differences.
    """
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n == 0:
        return np.nan, np.nan, np.nan
    b = max(1, min(block, n))
    starts = np.arange(n - b + 1)
    rng = np.random.default_rng(seed)
    n_blocks = int(np.ceil(n / b))
    idx = rng.choice(starts, size=(n_boot, n_blocks))[:, :, None] + np.arange(b)
    means = d[idx.reshape(n_boot, -1)[:, :n]].mean(axis=1)
    a = (1.0 - level) / 2.0
    return float(d.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))
