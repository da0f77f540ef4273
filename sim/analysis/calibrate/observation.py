"""The observation model: how each counter's reported tally relates to the simulated event log.

A tally is the counter's view of the latent event log (``sim.analysis.observed.tally_matrix``
counts the model's events under the tally's rule: weapons, targets, window, measure). On top:

* **Geography.** The model has no Syria. A row counting Iraq+Syria is fitted only through the
  Iraq share the source gives, and that share is its own ``Iraq`` row in tallies.csv (T44-T55),
  so combined rows are never fitted; rows without a share (T74-T76 of 2021, ...) cannot be
  fitted at all (``select`` gives the reason for every row not fitted).
* **Detection.** A counter reporting exact or approximate counts saw and reported a share
  ``p`` of the events of its rule (binomial thinning, one rate per counter, a parameter).
  Thinning a simulated count X with mean m and variance v gives mean ``p m`` and variance
  ``p^2 v + p (1 - p) m`` (``thin_moments``); ``p = 1`` leaves the count unchanged.
* **Rounding.** An ``approx`` count c stands for the interval ±20%
  (``sim.analysis.observed.approx_interval``) when scored alone; inside a running total it
  adds a Gaussian reporting error of sd ``APPROX_SD * mean`` (±20% as about a 90% interval).
* **Lower bounds** ("at least N") are censored observations P(X >= N) of the true count, with
  no detection rate (the counter states a floor on the truth).
* **Nested running totals** of one counter (column ``nested_in``: same start, rule and counter,
  later end) are scored JOINTLY (``chain_loglik``): the exact and approximate members of a
  chain become increments over disjoint windows, whose vector is scored by a Gaussian
  synthetic likelihood (Wood 2010) with the simulated mean and covariance of the increments,
  thinned, plus the reporting errors. Why increments with a joint Gaussian, not independent
  terms: a running total contains every event of its predecessors, so independent terms
  count shared events several times (the first calibration's composite likelihood); the
  increments remove the shared part, and their residual dependence (self-excitation carries
  over between adjacent windows) is kept by the simulated covariance. The Gaussian is a
  reasonable approximation for the chains' totals (6 to 90 events); a unit-width
  discretisation variance (1/12) is added to each increment so that a one-day increment the
  simulations never vary still has a proper density. Lower bounds inside a chain are scored
  on their own (censored), ignoring their dependence on the chain.
* Every other fitted tally is a **singleton**: a negative binomial with the thinned simulated
  mean and variance (Poisson if not overdispersed), scored on its value (exact), interval
  (approx) or tail (lower): ``sim.analysis.observed.count_logprob``.
* **Model discrepancy** (Kennedy & O'Hagan 2001, docs/sources.md): the model is structurally
  imperfect (it has no driver of the Aug-Sep 2020 rise, and counters disagree beyond what a
  detection rate can absorb: T73 against T19, T71 against T12), so the true count of a window
  is the model's count X times a factor D independent of X, with mean 1 and coefficient of
  variation ``cv`` (parameter ``discrepancy.cv``, estimated with the others). D is drawn
  afresh for every tally window (every increment of a chain), i.e. the discrepancy of
  disjoint windows is independent. Its moments (``discrepancy_moments``): mean ``m``,
  variance ``(1 + cv^2) v + cv^2 m^2`` (a quadratic, negative-binomial-like overdispersion);
  detection thinning acts after it. ``cv = 0`` gives back the model without discrepancy
  exactly. The predictive draws D from a gamma with mean 1 and variance ``cv^2``
  (``perturb``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis import observed as O

APPROX_SD = 0.2 / 1.645
"""Relative sd of the reporting error of an approximate count inside a running total."""
DISCRETE_VAR = 1.0 / 12.0
"""Variance of rounding a continuous increment to an integer (added to every increment)."""
DISCREPANCY = "discrepancy.cv"
"""Name of the model-discrepancy parameter (coefficient of variation of the factor D)."""


def discrepancy_moments(
    mean: np.ndarray, var: np.ndarray, cv: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and variance of ``X * D``: D independent of X, mean 1, sd ``cv``.

    Parameters
    ----------
    mean, var : ndarray
        Mean and variance of the model's count X.
    cv : float
        Coefficient of variation of the discrepancy factor D (0: no discrepancy).

    Returns
    -------
    tuple of ndarray
        ``mean`` and ``(1 + cv^2) var + cv^2 mean^2`` (exact for any such D).
    """
    k = float(cv) ** 2
    m = np.asarray(mean, dtype=float)
    return m, (1.0 + k) * np.asarray(var, dtype=float) + k * m * m


def perturb(
    sim: np.ndarray, chains: tuple[np.ndarray, ...], cv: float, rng: np.random.Generator
) -> np.ndarray:
    """Return simulated latent counts times independent discrepancy factors, rounded.

    Parameters
    ----------
    sim : ndarray (R, K)
        Simulated latent counts of K tallies.
    chains : tuple of ndarray
        Index arrays of nested running totals (ordered by end): their INCREMENTS are
        perturbed, as in ``chain_loglik``; every other column is perturbed as it is.
    cv : float
        Coefficient of variation of the factor (gamma, mean 1, variance ``cv^2``).
    rng : numpy.random.Generator
        Source of the factors and of the stochastic rounding.

    Returns
    -------
    ndarray of int64
        ``sim`` itself (as int64) when ``cv`` is 0.
    """
    x = np.asarray(sim, dtype=float).copy()
    if cv <= 0.0:
        return np.rint(x).astype(np.int64)
    k = float(cv) ** 2
    for c in chains:
        x[:, c] = increments(x[:, c])
    d = rng.gamma(1.0 / k, k, size=x.shape)
    y = x * d
    y = np.floor(y) + (rng.random(y.shape) < (y - np.floor(y)))
    for c in chains:
        y[:, c] = np.cumsum(y[:, c], axis=1)
    return y.astype(np.int64)


def select(
    tallies: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    data_until: dt.date | None = None,
) -> pd.DataFrame:
    """Return the tallies with a ``status`` column: ``fit``, ``held_out`` or why not fitted.

    Parameters
    ----------
    tallies : pandas.DataFrame
        Rows of ``sim.analysis.observed.load_tallies``.
    start, end : datetime.date
        The scenario's horizon (a window must lie inside it).
    data_until : datetime.date, optional
        Only windows ending on or before this date are fitted; later ones inside the horizon
        are ``held_out`` (scored out of sample).

    Returns
    -------
    pandas.DataFrame
        A copy with ``status``: ``fit``, ``held_out``, ``use=<reason>`` (the data's own
        ``use`` column: ``syria_included`` rows have no Iraq-only count the model can see,
        unless the Iraq share is its own row), or ``outside_horizon``.
    """
    t = tallies.copy()
    status = np.where(t["use"] == "fit", "fit", "use=" + t["use"].astype(str))
    inside = (t["start"].dt.date >= start) & (t["end"].dt.date <= end)
    status = np.where((status == "fit") & ~inside, "outside_horizon", status)
    if data_until is not None:
        late = t["end"].dt.date > data_until
        status = np.where((status == "fit") & late, "held_out", status)
    t["status"] = status
    return t


def chain_root(tallies: pd.DataFrame) -> dict[str, str]:
    """Return each tally's chain root: follow ``nested_in`` to the first total of the chain."""
    parent = dict(zip(tallies["id"], tallies.get("nested_in", ""), strict=True))
    out = {}
    for k in parent:
        seen, r = {k}, k
        while parent.get(r) and parent[r] in parent and parent[r] not in seen:
            r = parent[r]
            seen.add(r)
        out[k] = r
    return out


@dataclass(frozen=True)
class Blocks:
    """The fitted tallies grouped for the likelihood (indices into the fitted frame)."""

    singletons: np.ndarray  # (S,) int
    chains: tuple[np.ndarray, ...]  # each ordered by window end, >= 2 members, no lower bounds

    def describe(self, ids: np.ndarray) -> list[str]:
        """Return each chain as ``T20 < T21 < T22``."""
        return [" < ".join(ids[c]) for c in self.chains]


def blocks(fitted: pd.DataFrame, all_tallies: pd.DataFrame | None = None) -> Blocks:
    """Group fitted tallies into nested chains and singletons.

    Parameters
    ----------
    fitted : pandas.DataFrame
        The fitted tallies (index 0..K-1).
    all_tallies : pandas.DataFrame, optional
        All tallies (to follow ``nested_in`` through rows that are not fitted); default
        ``fitted``.

    Returns
    -------
    Blocks
        Chains: the exact and approximate members sharing a root (two or more); everything
        else is a singleton.
    """
    root = chain_root(all_tallies if all_tallies is not None else fitted)
    groups: dict[str, list[int]] = {}
    for i, (k, b) in enumerate(zip(fitted["id"], fitted["bound"], strict=True)):
        if b != "lower":
            groups.setdefault(root.get(k, k), []).append(i)
    chains = []
    in_chain: set[int] = set()
    ends = fitted["end"].to_numpy()
    for members in groups.values():
        if len(members) >= 2:
            m = np.array(sorted(members, key=lambda i: (ends[i], i)), dtype=np.int64)
            chains.append(m)
            in_chain.update(m.tolist())
    single = np.array([i for i in range(len(fitted)) if i not in in_chain], dtype=np.int64)
    return Blocks(single, tuple(chains))


def thin_moments(
    mean: np.ndarray, var: np.ndarray, p: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and variance of a count thinned binomially with detection rate ``p``.

    Parameters
    ----------
    mean, var : ndarray
        Mean and variance of the latent count.
    p : float or ndarray
        Detection rate(s).

    Returns
    -------
    tuple of ndarray
        ``p * mean`` and ``p**2 * var + p * (1 - p) * mean``.
    """
    p = np.asarray(p, dtype=float)
    return p * mean, p * p * var + p * (1.0 - p) * mean


def increments(cumulative: np.ndarray) -> np.ndarray:
    """Return the increments of running totals along the last axis (first total, differences)."""
    c = np.asarray(cumulative)
    return np.diff(c, axis=-1, prepend=np.zeros_like(c[..., :1]))


def increment_matrix(k: int) -> np.ndarray:
    """Return the (k, k) matrix A with ``A @ totals = increments`` (determinant 1)."""
    return np.eye(k) - np.eye(k, k=-1)


def gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    """Return the multivariate normal log density (Cholesky; -inf if ``cov`` is not PD)."""
    try:
        c = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return -np.inf
    r = np.linalg.solve(c, x - mean)
    return float(-0.5 * r @ r - np.log(np.diag(c)).sum() - 0.5 * len(x) * np.log(2.0 * np.pi))


def chain_loglik(
    sim: np.ndarray, count: np.ndarray, bound: np.ndarray, p: float, cv: float = 0.0
) -> float:
    """Return the joint synthetic log likelihood of one chain of nested running totals.

    Parameters
    ----------
    sim : ndarray (R, k)
        Simulated latent totals of the chain's windows (ordered by end; same start).
    count : ndarray (k,)
        Reported totals.
    bound : ndarray (k,) of str
        ``exact`` or ``approx`` per total.
    p : float
        The counter's detection rate.
    cv : float
        Model discrepancy: each increment is multiplied by its own factor (mean 1, sd ``cv``),
        which adds ``cv^2 (v + m^2)`` to each increment's variance (``discrepancy_moments``)
        and leaves the covariances of different increments unchanged.

    Returns
    -------
    float
        log N(increments of the reports; thinned simulated mean, covariance + discrepancy +
        reporting errors + ``DISCRETE_VAR``), floored at ``sim.analysis.observed.LOG_FLOOR``.
    """
    x = np.asarray(sim, dtype=float)
    k = x.shape[1]
    dx = increments(x)
    m = dx.mean(axis=0)
    cov = np.cov(dx, rowvar=False, ddof=1) if x.shape[0] > 1 else np.diag(m)
    cov = np.atleast_2d(cov)
    kappa = float(cv) ** 2
    if kappa > 0.0:
        cov = cov + kappa * np.diag(np.diag(cov) + m * m)
    mu = p * m
    sig = p * p * cov + np.diag(p * (1.0 - p) * m + DISCRETE_VAR)
    cum_mu = np.cumsum(mu)
    err = np.where(np.asarray(bound) == "approx", (APPROX_SD * np.maximum(cum_mu, 1.0)) ** 2, 0.0)
    a = increment_matrix(k)
    sig = sig + a @ np.diag(err) @ a.T
    lp = gaussian_logpdf(increments(np.asarray(count, dtype=float)), mu, sig)
    return max(lp, O.LOG_FLOOR) if np.isfinite(lp) else O.LOG_FLOOR


def singleton_logprob(
    sim: np.ndarray, count: np.ndarray, bound: np.ndarray, p: np.ndarray, cv: float = 0.0
) -> np.ndarray:
    """Return the log probability of each singleton report under thinned simulated counts.

    Parameters
    ----------
    sim : ndarray (R, S)
        Simulated latent counts.
    count, bound : ndarray (S,)
        Reports.
    p : ndarray (S,)
        Detection rate of each report's counter (1 for lower bounds).
    cv : float
        Model discrepancy (``discrepancy_moments``), applied before thinning.

    Returns
    -------
    ndarray (S,)
        ``sim.analysis.observed.count_logprob`` at the thinned moments.
    """
    x = np.asarray(sim, dtype=float)
    m = x.mean(axis=0)
    v = x.var(axis=0, ddof=1) if x.shape[0] > 1 else m
    m, v = discrepancy_moments(m, v, cv)
    mt, vt = thin_moments(m, v, p)
    return O.count_logprob(mt, vt, count, bound)


@dataclass(frozen=True)
class ObservationModel:
    """Everything needed to score a simulated tally matrix against the fitted reports."""

    ids: np.ndarray  # (K,) str
    count: np.ndarray  # (K,) int
    bound: np.ndarray  # (K,) str
    counter: np.ndarray  # (K,) str: counter_id
    detection_names: tuple[str, ...]  # one per detection parameter
    detection_of: np.ndarray  # (K,) int: index into detection_names, -1 = none (lower bound)
    blocks: Blocks

    @classmethod
    def build(cls, fitted: pd.DataFrame, all_tallies: pd.DataFrame | None = None):
        """Build the model of the fitted tallies (rows of ``select`` with status ``fit``)."""
        counters = fitted["counter_id"].astype(str).to_numpy()
        bound = fitted["bound"].to_numpy(str)
        names = tuple(sorted({c for c, b in zip(counters, bound, strict=True) if b != "lower"}))
        det = np.array(
            [names.index(c) if b != "lower" else -1 for c, b in zip(counters, bound, strict=True)],
            dtype=np.int64,
        )
        return cls(
            fitted["id"].to_numpy(str),
            fitted["count"].to_numpy(np.int64),
            bound,
            counters,
            tuple(f"detection.{c}" for c in names),
            det,
            blocks(fitted, all_tallies),
        )

    def rates(self, detection: np.ndarray) -> np.ndarray:
        """Return each tally's detection rate (1 where it has none)."""
        d = np.asarray(detection, dtype=float)
        return np.where(self.detection_of >= 0, d[np.maximum(self.detection_of, 0)], 1.0)

    def terms(
        self, sim: np.ndarray, detection: np.ndarray, cv: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (singleton log probabilities, chain log likelihoods) at discrepancy ``cv``."""
        p = self.rates(detection)
        s = self.blocks.singletons
        single = singleton_logprob(sim[:, s], self.count[s], self.bound[s], p[s], cv)
        chains = np.array(
            [
                chain_loglik(sim[:, c], self.count[c], self.bound[c], float(p[c[0]]), cv)
                for c in self.blocks.chains
            ]
        )
        return single, chains

    def loglik(self, sim: np.ndarray, detection: np.ndarray, cv: float = 0.0) -> float:
        """Return the total log likelihood of the reports given simulated latent tallies.

        ``cv`` is the model discrepancy (0: the model alone).
        """
        single, chains = self.terms(sim, detection, cv)
        return float(single.sum() + chains.sum())
