"""Baselines worth beating, each behind ``sim.analysis.calibrate.baselines.Baseline``.

All forecast the *main series* (rocket attacks on US targets; other tally classes through
the caller's class factor, as in the calibration's baselines) from information available at
the origin only: the reconstruction of the daily series from the tallies whose windows end on
or before the origin (``Context.recon``) and the dated events before the origin.

* ``TunedPersistence``: the mean daily rate of the last W days persists; W is chosen among
  ``WINDOWS`` by pseudo-forecasts of 30-day counts made inside the pre-origin series only.
* ``Ingarch``: NB-INGARCH(1,1) on weekly counts of the reconstruction (Ferland et al. 2006;
  lambda_t = omega + alpha y_{t-1} + beta lambda_{t-1}, NB with size r), maximum likelihood
  (scipy), forecasts simulated forward.
* ``DatedHawkes``: a Hawkes process (exponential kernel) fitted by maximum likelihood to the
  DATED attacks of ``calibration/data/events.csv`` before the origin (their own dates, not
  reconstructed times). The dated rows are the notable attacks only, so the forecast is scaled
  by the ratio of the reconstructed count to the dated count before the origin (a reporting
  ratio, stated in ``params``).
* ``Ensemble``: equal-weight mixture of member forecasts (mixture pmf; moments for ``forecast``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

from sim.analysis.calibrate import baselines as B
from sim.analysis.forecast import scoring as S

WINDOWS = (7, 14, 30, 60, 90, 180)
"""Candidate persistence windows (days)."""
WEEK = 7


class TunedPersistence(B._ConstantRate):
    """The mean rate of the last W days persists; W tuned on pre-origin data only."""

    name = "persistence"
    description = "mean rate of the last W days (W tuned before the origin); NB window counts"

    def fit(self, train: B.TallySet, ctx: B.Context) -> None:
        """Choose W by pseudo-forecasts of 30-day counts inside the reconstruction; fit NB size."""
        r = np.asarray(ctx.recon, dtype=float)
        h = len(r)
        origins = np.arange(60, h - 30 + 1, 15)
        best, best_w = np.inf, WINDOWS[2]
        for w in WINDOWS:
            loss = 0.0
            for o in origins:
                pred = r[max(0, o - w) : o].mean() * 30.0
                obs = r[o : o + 30].sum()
                loss += (pred - obs) ** 2 / (obs + 1.0)
            if len(origins) and loss < best:
                best, best_w = loss, w
        self.window = best_w
        self.rate = max(float(r[max(0, h - best_w) :].mean()) if h else 1e-3, 1e-4)
        x = B._fit_by_tallies(
            train, lambda x: (self.rate * train.length, x[0]), np.array([math.log(5.0)])
        )
        self.size = math.exp(float(np.clip(x[0], -5, 8)))

    def params(self) -> dict[str, float]:
        """Return window, rate and NB size."""
        return {"window_days": float(self.window), **super().params()}


def ingarch_nll(x: np.ndarray, y: np.ndarray) -> float:
    """Return the NB-INGARCH(1,1) negative log likelihood at unconstrained ``x``.

    ``x = (log omega, logit a, logit b share, log r)``: alpha = a (1 - b'), beta = a b' keeps
    alpha + beta < 1 (stationarity).
    """
    from scipy.special import gammaln

    omega, s, share, r = (
        math.exp(x[0]),
        1 / (1 + math.exp(-x[1])),
        1 / (1 + math.exp(-x[2])),
        math.exp(x[3]),
    )
    alpha, beta = s * (1 - share), s * share
    lam = np.empty(len(y))
    lam[0] = max(y.mean(), 1e-3)
    for t in range(1, len(y)):
        lam[t] = omega + alpha * y[t - 1] + beta * lam[t - 1]
    lam = np.maximum(lam, 1e-6)
    ll = gammaln(y + r) - gammaln(r) - gammaln(y + 1) + r * np.log(r / (r + lam))
    ll += y * np.log(lam / (r + lam))
    return -float(ll.sum())


def fit_ingarch(y: np.ndarray) -> tuple[float, float, float, float]:
    """Return the MLE (omega, alpha, beta, r) of an NB-INGARCH(1,1) for counts ``y``."""
    y = np.asarray(y, dtype=float)
    m = max(y.mean(), 0.1)
    best = None
    for s0 in (0.3, 0.7):
        x0 = np.array([math.log(m * (1 - s0)), math.log(s0 / (1 - s0)), 0.0, math.log(3.0)])
        res = minimize(
            ingarch_nll,
            x0,
            args=(y,),
            method="Nelder-Mead",
            options={"maxiter": 3000, "xatol": 1e-5, "fatol": 1e-7},
        )
        if best is None or res.fun < best.fun:
            best = res
    x = best.x
    s, share = 1 / (1 + math.exp(-x[1])), 1 / (1 + math.exp(-x[2]))
    return math.exp(x[0]), s * (1 - share), s * share, math.exp(x[3])


def simulate_ingarch(
    omega: float,
    alpha: float,
    beta: float,
    r: float,
    y_last: float,
    lam_last: float,
    steps: int,
    paths: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return (paths, steps) simulated future counts of an NB-INGARCH(1,1)."""
    out = np.empty((paths, steps))
    y = np.full(paths, float(y_last))
    lam = np.full(paths, float(lam_last))
    for t in range(steps):
        lam = omega + alpha * y + beta * lam
        y = rng.negative_binomial(r, r / (r + np.maximum(lam, 1e-9))).astype(float)
        out[:, t] = y
    return out


def _window_moments(weekly: np.ndarray, t0: int, lo: np.ndarray, hi: np.ndarray):
    """Spread simulated weekly counts evenly over their days; moments of day-window sums."""
    daily = np.repeat(weekly / WEEK, WEEK, axis=1)
    cum = np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(daily, axis=1)], axis=1)
    a = np.clip(lo - t0, 0, daily.shape[1])
    b = np.clip(hi + 1 - t0, 0, daily.shape[1])
    s = cum[:, b] - cum[:, a]
    return s.mean(axis=0), s.var(axis=0, ddof=1)


class Ingarch(B.Baseline):
    """NB-INGARCH(1,1) on weekly counts of the pre-origin reconstruction, simulated forward."""

    name = "nb_ingarch"
    description = "NB-INGARCH(1,1) on weekly counts (MLE); simulated"

    def __init__(self, paths: int = 2000, seed: int = 0) -> None:
        self.paths, self.seed = paths, seed

    def fit(self, train: B.TallySet, ctx: B.Context) -> None:
        """Fit by maximum likelihood on the weekly counts ending at the origin."""
        r = np.asarray(ctx.recon, dtype=float)
        n = len(r) // WEEK
        self.t0 = len(r)
        y = np.rint(r[len(r) - n * WEEK :].reshape(n, WEEK).sum(axis=1))
        self.omega, self.alpha, self.beta, self.r = fit_ingarch(y)
        lam = max(y.mean(), 1e-3)
        for t in range(1, len(y)):
            lam = self.omega + self.alpha * y[t - 1] + self.beta * lam
        self.y_last, self.lam_last = float(y[-1]), float(lam)

    def future_moments(self, lo, hi, ctx):
        """Return moments of simulated counts on each window."""
        steps = int(np.ceil((max(int(np.max(hi)) + 1 - self.t0, 1)) / WEEK)) + 1
        rng = np.random.default_rng(self.seed)
        weekly = simulate_ingarch(
            self.omega,
            self.alpha,
            self.beta,
            self.r,
            self.y_last,
            self.lam_last,
            steps,
            self.paths,
            rng,
        )
        return _window_moments(weekly, self.t0, lo, hi)

    def params(self) -> dict[str, float]:
        """Return omega, alpha, beta (weekly) and NB size."""
        return {"omega": self.omega, "alpha": self.alpha, "beta": self.beta, "nb_size": self.r}


class DatedHawkes(B.Hawkes):
    """Hawkes process fitted by maximum likelihood to the dated attacks before the origin."""

    name = "hawkes_dated"
    description = "exponential-kernel Hawkes, MLE on dated attacks (events.csv), scaled"

    def __init__(self, event_days: np.ndarray, paths: int = 2000, seed: int = 0) -> None:
        self.event_days = np.sort(np.asarray(event_days, dtype=float))
        self.paths, self.seed = paths, seed

    def fit(self, train: B.TallySet, ctx: B.Context) -> None:
        """Fit (mu, n, beta) on dated attacks before the origin; the reporting ratio."""
        h = float(ctx.holdout_day)
        t = self.event_days[(self.event_days >= 0) & (self.event_days < h)]
        # events on one day get distinct times (a Hawkes process has no ties)
        self.times = np.sort(t + np.linspace(0.1, 0.9, len(t)) % 1.0) if len(t) else t
        self.mu, self.n, self.beta = B.fit_hawkes(self.times, h)
        self.ratio = max(float(np.sum(ctx.recon)), 1.0) / max(len(self.times), 1)

    def future_moments(self, lo, hi, ctx):
        """Return the simulated Hawkes moments on each window, times the reporting ratio."""
        mean, var = super().future_moments(lo, hi, ctx)
        return self.ratio * mean, self.ratio**2 * var

    def params(self) -> dict[str, float]:
        """Return mu, branching ratio, decay and the reporting ratio."""
        return {
            "mu_per_day": self.mu,
            "branching_ratio": self.n,
            "beta_per_day": self.beta,
            "reporting_ratio": self.ratio,
            "n_dated": float(len(self.times)),
        }


def forecast_pmf(b: B.Baseline, test: B.TallySet, ctx: B.Context, grid: int) -> np.ndarray:
    """Return each test tally's predictive pmf (moment-matched, or the ensemble's mixture)."""
    if isinstance(b, Ensemble):
        return b.pmf(test, ctx, grid)
    m, v = b.forecast(test, ctx)
    return S.nb_pmf(m, v, grid)


class Ensemble(B.Baseline):
    """Equal-weight mixture of fitted member baselines."""

    name = "ensemble"
    description = "equal-weight mixture of the other baselines"

    def __init__(self, members: list[B.Baseline]) -> None:
        self.members = members

    def fit(self, train: B.TallySet, ctx: B.Context) -> None:
        """Fit every member."""
        for m in self.members:
            m.fit(train, ctx)

    def future_moments(self, lo, hi, ctx):
        """Return the mixture's mean and variance."""
        mv = [m.future_moments(lo, hi, ctx) for m in self.members]
        mean = np.mean([a for a, _ in mv], axis=0)
        second = np.mean([v + a * a for a, v in mv], axis=0)
        return mean, second - mean * mean

    def pmf(self, test: B.TallySet, ctx: B.Context, grid: int) -> np.ndarray:
        """Return the mixture pmf (average of member pmfs)."""
        return np.mean([forecast_pmf(m, test, ctx, grid) for m in self.members], axis=0)


def all_forecast_baselines(event_days: np.ndarray, seed: int, paths: int = 2000) -> list:
    """Return fresh baselines: tuned persistence, climatology, NB-INGARCH, Hawkes, ensemble."""
    members = [
        TunedPersistence(),
        B.Climatology(),
        Ingarch(paths=paths, seed=seed),
        DatedHawkes(event_days, paths=paths, seed=seed),
    ]
    return [*members, Ensemble(members)]
