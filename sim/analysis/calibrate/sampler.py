"""Posterior sampling: likelihood-tempered sequential Monte Carlo (SMC) with random-walk moves.

The sampler targets p(z | data) ∝ prior(z) L(z) on unbounded coordinates z through the
tempered sequence prior(z) L(z)^phi, phi from 0 to 1 (Del Moral, Doucet & Jasra 2006; Chopin
2002). Each stage:

1. picks the next phi by bisection so that the effective sample size (ESS) of the incremental
   weights L^(phi' - phi) is ``ess_target`` times the particle number;
2. resamples (systematic) to equal weights;
3. moves every particle by Metropolis-Hastings steps with a Gaussian random walk whose
   covariance is the particles' covariance times 2.38^2 / d (scaled down when acceptance is
   low), repeating until a particle has probably moved (1 - (1 - acc)^k >= 0.9) within
   ``min_moves``..``max_moves`` steps.

With a simulator-based likelihood evaluated on common random numbers, L(z) is a deterministic
function, so the MH steps are exact for that (synthetic) likelihood and the whole run is a
deterministic function of the seed. The per-stage record (phi, ESS, acceptance, moves,
distinct particles, evaluations) is the convergence diagnostic shown in the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SmcSettings:
    """Budget and tuning of one SMC run."""

    particles: int = 400
    ess_target: float = 0.5
    min_moves: int = 2
    max_moves: int = 8
    max_stages: int = 60
    seed: int = 0


@dataclass
class SmcResult:
    """The final particles (equal weights) and the per-stage diagnostics."""

    z: np.ndarray  # (N, d) final particles, sampler coordinates
    loglik: np.ndarray  # (N,)
    logprior: np.ndarray  # (N,)
    weight: np.ndarray  # (N,) normalised weights (equal after the final move)
    stages: list[dict] = field(default_factory=list)
    evaluations: int = 0
    seconds: float = 0.0
    log_evidence: float = 0.0

    @property
    def converged(self) -> bool:
        """True when the tempering reached phi = 1 (the posterior, not an intermediate)."""
        return bool(self.stages) and self.stages[-1]["phi"] >= 1.0


def _ess(logw: np.ndarray) -> float:
    w = np.exp(logw - logw.max())
    return float(w.sum() ** 2 / (w * w).sum())


def _next_phi(ll: np.ndarray, phi: float, target: float) -> float:
    ll = np.where(np.isfinite(ll), ll, -1e300)
    if _ess((1.0 - phi) * ll) >= target:
        return 1.0
    lo, hi = phi, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _ess((mid - phi) * ll) >= target:
            lo = mid
        else:
            hi = mid
    return max(lo, phi + 1e-9)


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return indices of a systematic resample of normalised ``weights``."""
    n = len(weights)
    pos = (rng.random() + np.arange(n)) / n
    c = np.cumsum(weights)
    c[-1] = 1.0
    return np.searchsorted(c, pos, side="left")


def smc(
    loglik: Callable[[np.ndarray], float],
    logprior: Callable[[np.ndarray], float],
    prior_draws: np.ndarray,
    settings: SmcSettings,
    progress: Callable[[str], None] | None = None,
) -> SmcResult:
    """Run likelihood-tempered SMC from draws of the prior.

    Parameters
    ----------
    loglik : callable
        z (d,) -> log likelihood (deterministic; -inf allowed).
    logprior : callable
        z (d,) -> log prior density in the sampler's coordinates.
    prior_draws : ndarray (N, d)
        Initial particles, drawn from the prior.
    settings : SmcSettings
        Tuning and seed (the seed drives resampling and moves).
    progress : callable, optional
        Called with a one-line status per stage.

    Returns
    -------
    SmcResult
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    z = np.array(prior_draws, dtype=float)
    n, d = z.shape
    ll = np.array([loglik(x) for x in z])
    lp = np.array([logprior(x) for x in z])
    evals = n
    phi = 0.0
    logw = np.zeros(n)
    log_z = 0.0
    scale = 2.38 / np.sqrt(d)
    stages: list[dict] = []
    for stage in range(settings.max_stages):
        new = _next_phi(ll, phi, settings.ess_target * n)
        inc = (new - phi) * np.where(np.isfinite(ll), ll, -np.inf)
        logw = inc - np.max(inc)
        w = np.exp(logw)
        log_z += float(np.log(w.mean()) + np.max(inc))
        w /= w.sum()
        ess = float(1.0 / np.sum(w * w))
        phi = new
        idx = systematic_resample(w, rng)
        z, ll, lp = z[idx], ll[idx], lp[idx]
        cov = np.atleast_2d(np.cov(z, rowvar=False)) + 1e-9 * np.eye(d)
        chol = np.linalg.cholesky(cov)
        accepted, tried, k = 0, 0, 0
        moved = np.zeros(n, dtype=bool)
        while True:
            prop = z + scale * (rng.standard_normal((n, d)) @ chol.T)
            u = np.log(rng.random(n))
            acc_k = 0
            for i in range(n):
                lpi = logprior(prop[i])
                if not np.isfinite(lpi):
                    continue
                lli = loglik(prop[i])
                evals += 1
                if u[i] < lpi + phi * lli - lp[i] - phi * ll[i]:
                    z[i], ll[i], lp[i] = prop[i], lli, lpi
                    acc_k += 1
                    moved[i] = True
            accepted += acc_k
            tried += n
            k += 1
            rate = acc_k / n
            # adapt the step: shrink when too few moves are accepted, grow when many are
            scale *= float(np.exp(np.clip(rate - 0.234, -0.5, 0.5)))
            overall = accepted / tried
            enough = 1.0 - (1.0 - overall) ** k >= 0.9
            if k >= settings.max_moves or (k >= settings.min_moves and enough):
                break
        row = {
            "stage": stage + 1,
            "phi": phi,
            "ess": ess,
            "acceptance": accepted / tried,
            "moves": k,
            "moved_share": float(moved.mean()),
            "distinct": int(len(np.unique(z, axis=0))),
            "evaluations": evals,
            "seconds": time.perf_counter() - t0,
        }
        stages.append(row)
        if progress:
            progress(
                f"SMC stage {row['stage']}: phi {phi:.4g}, ESS {ess:.0f}/{n}, acceptance "
                f"{row['acceptance']:.2f} over {k} moves, {evals} evaluations"
            )
        if phi >= 1.0:
            break
    return SmcResult(
        z,
        ll,
        lp,
        np.full(n, 1.0 / n),
        stages,
        evals,
        time.perf_counter() - t0,
        log_z,
    )
