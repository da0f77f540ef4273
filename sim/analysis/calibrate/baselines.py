"""Baselines that forecast held-out tallies from training tallies, for out-of-sample validation.

Every baseline models one daily series, the *main series*: rocket attacks on US targets (the
rule most tallies use). A tally of another class (IEDs on convoys, rockets and IEDs, embassy
only, deaths) is the main series times a class factor ``f`` that the caller supplies (the
calibration takes it from the model's simulation of the training period only, so no baseline
sees held-out data; the baselines then compete on timing and level, not on counting rules).

* ``Climatology``: a constant daily rate; window counts negative binomial.
* ``Persistence``: the daily rate of the most recent training tally persists.
* ``NBRegression``: log rate = b0 + b1 [within 30 days after a documented US strike] +
  b2 [documented truce in force]; window counts negative binomial. The indicators come from
  the dated events (``calibration/data/events.csv``), known in advance as the scenario's
  injects are.
* ``Hawkes``: a self-exciting process with an exponential kernel fitted by maximum likelihood
  (``fit_hawkes``) to event times reconstructed from the training tallies (``reconstruct``:
  piecewise-constant daily rates fitted to the tallies, each segment's events spread evenly),
  because no complete dated series of the attacks exists (calibration/data/events.csv lists
  only notable ones); forecasts are simulated forward from the holdout date conditioned on that
  history.

Every baseline is fitted by maximising the same tally likelihood as the model
(``sim.analysis.observed.count_logprob``), except the Hawkes process (likelihood of event times).
For a held-out window that starts before the holdout date, baselines take the part before the
date from the reconstruction (it is covered by training tallies) and forecast the rest.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit
from scipy.optimize import minimize

from sim.analysis import observed as O

STRIKE_EFFECT_DAYS = 30
"""Days after a documented US strike flagged by the NB regression's strike indicator."""
RIDGE_SD = 1.0
"""Prior sd of the NB regression's indicator coefficients (log-rate units)."""


@dataclass(frozen=True)
class TallySet:
    """Tallies as day windows since a day 0, with counts, bounds and class factors."""

    ids: tuple[str, ...]
    start: np.ndarray  # int, inclusive
    end: np.ndarray  # int, inclusive
    count: np.ndarray
    bound: np.ndarray
    factor: np.ndarray  # main-series units -> tally units

    @property
    def length(self) -> np.ndarray:
        """Window lengths in days."""
        return self.end - self.start + 1

    def __len__(self) -> int:
        return len(self.ids)


def tally_set(tallies: pd.DataFrame, day0: pd.Timestamp, factor: np.ndarray) -> TallySet:
    """Return a ``TallySet`` from tallies rows, day 0 and class factors.

    Parameters
    ----------
    tallies : pandas.DataFrame
        Rows of ``sim.analysis.observed.load_tallies``.
    day0 : pandas.Timestamp
        The date of day 0.
    factor : ndarray
        Class factor of each tally (1 for the main series).

    Returns
    -------
    TallySet
    """
    return TallySet(
        ids=tuple(tallies["id"]),
        start=(pd.to_datetime(tallies["start"]) - day0).dt.days.to_numpy(np.int64),
        end=(pd.to_datetime(tallies["end"]) - day0).dt.days.to_numpy(np.int64),
        count=tallies["count"].to_numpy(np.int64),
        bound=tallies["bound"].to_numpy(str),
        factor=np.asarray(factor, dtype=float),
    )


@dataclass(frozen=True)
class Context:
    """What every baseline may use: the holdout day, covariates, the reconstruction."""

    holdout_day: int
    strike: np.ndarray  # (n_days,) 0/1
    truce: np.ndarray  # (n_days,) 0/1
    recon: np.ndarray  # (holdout_day,) daily main-series rate before the holdout day

    def known(self, ts: TallySet) -> np.ndarray:
        """Return the reconstructed main-series count of each window before the holdout day."""
        cum = np.concatenate([[0.0], np.cumsum(self.recon)])
        lo = np.clip(ts.start, 0, self.holdout_day)
        hi = np.clip(ts.end + 1, 0, self.holdout_day)
        return cum[hi] - cum[lo]

    def future(self, ts: TallySet) -> tuple[np.ndarray, np.ndarray]:
        """Return the first and last day (inclusive) of each window on or after the holdout day."""
        return np.maximum(ts.start, self.holdout_day), ts.end


def indicators(
    events: pd.DataFrame, day0: pd.Timestamp, n_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return daily 0/1 indicators (strike aftermath, truce in force) from the observed log.

    Parameters
    ----------
    events : pandas.DataFrame
        The observed log (``sim.analysis.observed.load_observed_events``).
    day0 : pandas.Timestamp
        Date of day 0.
    n_days : int
        Length of the indicator arrays.

    Returns
    -------
    tuple of ndarray
        ``strike[d]`` = 1 if a documented US strike happened in the ``STRIKE_EFFECT_DAYS`` days
        before day d; ``truce[d]`` = 1 from a documented ``truce_start`` up to the day before
        its ``truce_end`` (or to the end when none is documented).
    """
    strike = np.zeros(n_days)
    truce = np.zeros(n_days)
    day = (pd.to_datetime(events["date"]) - day0).dt.days.to_numpy()
    kind = events["kind"].to_numpy(object)
    for d in day[kind == "us_strike"]:
        strike[max(0, d + 1) : max(0, min(n_days, d + 1 + STRIKE_EFFECT_DAYS))] = 1.0
    starts = sorted(day[kind == "truce_start"])
    ends = sorted(day[kind == "truce_end"])
    for s in starts:
        later = [e for e in ends if e > s]
        e = later[0] if later else n_days
        truce[max(0, s) : max(0, min(n_days, e))] = 1.0
    return strike, truce


# --- reconstruction of a daily series from overlapping tallies -----------------------------------


def reconstruct(train: TallySet, n_days: int, smooth: float = 0.005) -> np.ndarray:
    """Return daily main-series rates on days [0, n_days) consistent with training tallies.

    Rates are constant on the segments cut by all window boundaries; they minimise the squared
    misfit to exact and approximate counts (weighted by 1 / count), the shortfall below lower
    bounds, and ``smooth`` times the squared deviation of each segment's rate from a common
    level (which fixes segments no tally covers).

    Parameters
    ----------
    train : TallySet
        Training tallies (windows clipped to [0, n_days)).
    n_days : int
        Days to reconstruct.
    smooth : float
        Weight of the pull towards a common rate.

    Returns
    -------
    ndarray (n_days,)
        Daily rates (events per day, main-series units).
    """
    cuts = {0, n_days}
    for s, e in zip(train.start, train.end, strict=True):
        for c in (s, e + 1):
            if 0 < c < n_days:
                cuts.add(int(c))
    edges = np.array(sorted(cuts))
    seg_len = np.diff(edges).astype(float)
    n_seg = len(seg_len)
    a = np.zeros((len(train), n_seg))
    for k in range(len(train)):
        lo, hi = train.start[k], train.end[k] + 1
        ov = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None)
        a[k] = train.factor[k] * ov
    c = train.count.astype(float)
    w = 1.0 / np.maximum(c, 1.0)
    lower = train.bound == "lower"

    def loss(x: np.ndarray) -> tuple[float, np.ndarray]:
        rate, level = x[:-1], x[-1]
        r = a @ rate - c
        r = np.where(lower, np.minimum(r, 0.0), r)
        dev = rate - level
        val = float(np.sum(w * r * r) + smooth * np.sum(seg_len * dev * dev))
        g_rate = 2.0 * (a.T @ (w * r)) + 2.0 * smooth * seg_len * dev
        g_level = -2.0 * smooth * float(np.sum(seg_len * dev))
        return val, np.append(g_rate, g_level)

    total = float(np.sum(train.length)) or 1.0
    x0 = np.full(n_seg + 1, max(float(np.sum(c / np.maximum(train.factor, 1e-9))) / total, 1e-3))
    res = minimize(
        loss,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * (n_seg + 1),
        options={"maxiter": 5000},
    )
    return np.repeat(res.x[:-1], np.diff(edges))


def reconstructed_times(rate: np.ndarray) -> np.ndarray:
    """Return event times (days) spreading each constant-rate segment's rounded count evenly."""
    times: list[float] = []
    edges = np.flatnonzero(np.diff(rate) != 0) + 1
    bounds = np.concatenate([[0], edges, [len(rate)]])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        n = int(round(float(rate[lo:hi].sum())))
        if n > 0:
            times.extend(lo + (np.arange(n) + 0.5) * (hi - lo) / n)
    return np.asarray(times, dtype=float)


# --- Hawkes process with an exponential kernel ---------------------------------------------------


@njit(cache=True)
def _hawkes_ll(mu, n, beta, t, horizon):
    ll = 0.0
    a = 0.0
    for i in range(t.shape[0]):
        if i > 0:
            a = math.exp(-beta * (t[i] - t[i - 1])) * (1.0 + a)
        ll += math.log(mu + n * beta * a)
    ll -= mu * horizon
    for i in range(t.shape[0]):
        ll -= n * (1.0 - math.exp(-beta * (horizon - t[i])))
    return ll


def hawkes_loglik(mu: float, n: float, beta: float, times: np.ndarray, horizon: float) -> float:
    """Return the log likelihood of event times on [0, horizon) under a Hawkes process.

    The intensity is ``mu + n * beta * sum(exp(-beta (t - t_i)))`` over earlier events: ``n``
    is the branching ratio (expected offspring per event), ``1 / beta`` the mean delay.

    Parameters
    ----------
    mu, n, beta : float
        Background rate (per day), branching ratio, decay rate (per day).
    times : ndarray
        Sorted event times in [0, horizon).
    horizon : float
        Length of the observation window.

    Returns
    -------
    float
    """
    return float(_hawkes_ll(mu, n, beta, np.ascontiguousarray(times, dtype=float), horizon))


def fit_hawkes(times: np.ndarray, horizon: float) -> tuple[float, float, float]:
    """Return the maximum likelihood (mu, n, beta) of a Hawkes process with exponential kernel.

    Optimised over (log mu, logit n, log beta) by L-BFGS-B from a fixed grid of starts (so the
    result is deterministic); beta is kept in [1/365, 20] per day and n in (0, 0.9997).

    Parameters
    ----------
    times : ndarray
        Sorted event times in [0, horizon).
    horizon : float
        Length of the observation window.

    Returns
    -------
    tuple of float
        (mu, n, beta).
    """
    t = np.ascontiguousarray(np.sort(times), dtype=float)
    if t.size == 0:
        return 1e-4, 0.0, 1.0

    def nll(x: np.ndarray) -> float:
        mu, n, beta = math.exp(x[0]), 1.0 / (1.0 + math.exp(-x[1])), math.exp(x[2])
        return -_hawkes_ll(mu, n, beta, t, horizon)

    bounds = [
        (math.log(1e-5), math.log(100.0)),
        (-8.0, 8.0),
        (math.log(1.0 / 365.0), math.log(20.0)),
    ]
    best = None
    for n0 in (0.2, 0.5, 0.8):
        for b0 in (0.05, 0.5, 3.0):
            mu0 = max(t.size / horizon * (1.0 - n0), 1e-4)
            x0 = np.array([math.log(mu0), math.log(n0 / (1.0 - n0)), math.log(b0)])
            r = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
            if best is None or r.fun < best.fun:
                best = r
    x = best.x
    return math.exp(x[0]), 1.0 / (1.0 + math.exp(-x[1])), math.exp(x[2])


@njit(cache=True)
def _hawkes_counts(mu, n, beta, history, t_start, t_end, win_lo, win_hi, n_paths, seed):
    np.random.seed(seed)
    k = win_lo.shape[0]
    out = np.zeros((n_paths, k), dtype=np.int64)
    s0 = 0.0
    for h in history:
        if h < t_start:
            s0 += math.exp(-beta * (t_start - h))
    for p in range(n_paths):
        t = t_start
        s = s0
        while True:
            lam_bar = mu + n * beta * s
            if lam_bar <= 0.0:
                break
            w = -math.log(1.0 - np.random.random()) / lam_bar
            if t + w >= t_end:
                break
            t += w
            s *= math.exp(-beta * w)
            if np.random.random() * lam_bar <= mu + n * beta * s:
                s += 1.0
                for j in range(k):
                    if win_lo[j] <= t < win_hi[j]:
                        out[p, j] += 1
    return out


def simulate_hawkes_counts(
    mu: float,
    n: float,
    beta: float,
    history: np.ndarray,
    t_start: float,
    t_end: float,
    windows: np.ndarray,
    n_paths: int,
    seed: int,
) -> np.ndarray:
    """Simulate a Hawkes process on [t_start, t_end) given its history; count events per window.

    Ogata thinning (the intensity only decays between events, so the current intensity bounds
    it until the next event).

    Parameters
    ----------
    mu, n, beta : float
        Parameters (see ``hawkes_loglik``).
    history : ndarray
        Event times before ``t_start`` (they excite the future).
    t_start, t_end : float
        Simulated interval.
    windows : ndarray (K, 2)
        Half-open windows [lo, hi) in which events are counted.
    n_paths : int
        Number of simulated paths.
    seed : int
        Seed of numba's generator.

    Returns
    -------
    ndarray (n_paths, K) int64
    """
    w = np.asarray(windows, dtype=float).reshape(-1, 2)
    return _hawkes_counts(
        mu,
        n,
        beta,
        np.ascontiguousarray(history, dtype=float),
        float(t_start),
        float(t_end),
        np.ascontiguousarray(w[:, 0]),
        np.ascontiguousarray(w[:, 1]),
        int(n_paths),
        int(seed),
    )


@njit(cache=True)
def _hawkes_path(mu, n, beta, horizon, seed, cap):
    np.random.seed(seed)
    out = np.empty(cap)
    m = 0
    t = 0.0
    s = 0.0
    while m < cap:
        lam_bar = mu + n * beta * s
        w = -math.log(1.0 - np.random.random()) / lam_bar
        if t + w >= horizon:
            break
        t += w
        s *= math.exp(-beta * w)
        if np.random.random() * lam_bar <= mu + n * beta * s:
            s += 1.0
            out[m] = t
            m += 1
    return out[:m]


def simulate_hawkes(
    mu: float, n: float, beta: float, horizon: float, seed: int, cap: int = 1_000_000
) -> np.ndarray:
    """Return the event times of one Hawkes path on [0, horizon) (for tests and checks)."""
    return _hawkes_path(float(mu), float(n), float(beta), float(horizon), int(seed), int(cap))


# --- baselines -----------------------------------------------------------------------------------


def _nb_window(mean: np.ndarray, size: float) -> np.ndarray:
    """Return the variance of negative-binomial window counts with a common size parameter."""
    return mean + mean * mean / size


class Baseline(ABC):
    """A forecaster of tallies: ``fit`` on training tallies, ``forecast`` (mean, var) of others."""

    name: str = ""
    description: str = ""

    @abstractmethod
    def fit(self, train: TallySet, ctx: Context) -> None:
        """Fit to training tallies."""

    @abstractmethod
    def future_moments(
        self, lo: np.ndarray, hi: np.ndarray, ctx: Context
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return mean and variance of main-series counts on days [lo, hi] (inclusive)."""

    def forecast(self, test: TallySet, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """Return the predictive mean and variance of each test tally (in its own units).

        The part of a window before the holdout day is the reconstruction (known); the rest is
        forecast.
        """
        known = ctx.known(test)
        lo, hi = ctx.future(test)
        m, v = self.future_moments(lo, hi, ctx)
        m = np.where(hi >= lo, m, 0.0)
        v = np.where(hi >= lo, v, 0.0)
        return test.factor * (known + m), test.factor**2 * v

    def params(self) -> dict[str, float]:
        """Return the fitted parameters (for the report)."""
        return {}


def _fit_by_tallies(train: TallySet, mean_fn, x0: np.ndarray, penalty=None) -> np.ndarray:
    """Maximise the tally likelihood; ``mean_fn(x)`` returns (main-series mean, log size)."""
    c, b, f = train.count, train.bound, train.factor

    def nll(x: np.ndarray) -> float:
        m, log_size = mean_fn(x)
        size = math.exp(log_size)
        val = -float(np.sum(O.count_logprob(f * m, f * f * _nb_window(m, size), c, b)))
        return val + (penalty(x) if penalty else 0.0)

    return minimize(
        nll, x0, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-8}
    ).x


class _ConstantRate(Baseline):
    """A constant daily rate ``self.rate`` with negative-binomial window counts (``self.size``)."""

    rate: float
    size: float

    def future_moments(self, lo, hi, ctx):
        """Return NB moments of a constant rate over each window."""
        m = self.rate * (hi - lo + 1).clip(min=0)
        return m, _nb_window(m, self.size)

    def params(self) -> dict[str, float]:
        """Return the rate and NB size."""
        return {"rate_per_day": self.rate, "nb_size": self.size}


class Climatology(_ConstantRate):
    """A constant daily rate (negative-binomial window counts), fitted on training tallies."""

    name = "climatology"
    description = "constant daily rate; NB window counts"

    def fit(self, train: TallySet, ctx: Context) -> None:
        """Fit the rate and NB size by maximum tally likelihood.

        With lower bounds only ("at least N") the likelihood grows without limit with the rate
        (no maximum exists); the rate is then the one the bounds imply (their count per day,
        the smallest rate consistent with them) and only the NB size is fitted.
        """
        rate0 = max(float(np.sum(train.count / train.factor) / np.sum(train.length)), 1e-3)
        if not np.any(np.asarray(train.bound) != "lower"):
            x = _fit_by_tallies(
                train, lambda x: (rate0 * train.length, x[0]), np.array([math.log(5.0)])
            )
            self.rate, self.size = rate0, math.exp(x[0])
            return
        x = _fit_by_tallies(
            train,
            lambda x: (math.exp(x[0]) * train.length, x[1]),
            np.array([math.log(rate0), math.log(5.0)]),
        )
        self.rate, self.size = math.exp(x[0]), math.exp(x[1])


class Persistence(_ConstantRate):
    """The daily rate of the latest training tally persists (NB size fitted given that rate)."""

    name = "persistence"
    description = "rate of the most recent training tally carried forward"

    def fit(self, train: TallySet, ctx: Context) -> None:
        """Take the rate of the training tally with the latest end (shortest on ties)."""
        order = np.lexsort((train.length, -train.end))
        k = int(order[0])
        self.source = train.ids[k]
        self.rate = max(float(train.count[k] / (train.factor[k] * train.length[k])), 1e-4)
        x = _fit_by_tallies(
            train, lambda x: (self.rate * train.length, x[0]), np.array([math.log(5.0)])
        )
        self.size = math.exp(x[0])


class NBRegression(Baseline):
    """Negative binomial with a log rate linear in strike-aftermath and truce indicators."""

    name = "nb_regression"
    description = "log rate = b0 + b1 strike(30 d) + b2 truce; NB window counts"

    def _sums(self, lo: np.ndarray, hi: np.ndarray, x: np.ndarray, ctx: Context) -> np.ndarray:
        n = len(ctx.strike)
        lam = np.exp(x[0] + x[1] * ctx.strike + x[2] * ctx.truce)
        cum = np.concatenate([[0.0], np.cumsum(lam)])
        a = np.clip(lo, 0, n)
        b = np.clip(hi + 1, 0, n)
        return np.where(b > a, cum[b] - cum[np.minimum(a, b)], 0.0)

    def fit(self, train: TallySet, ctx: Context) -> None:
        """Fit b0, b1, b2 and NB size by maximum tally likelihood with a ridge on b1, b2.

        A coefficient whose indicator is zero on every training day is not informed by the
        data; the ridge keeps it at 0.
        """
        rate0 = max(float(np.sum(train.count / train.factor) / np.sum(train.length)), 1e-3)

        def mean_fn(x):
            return self._sums(train.start, train.end, x, ctx), x[3]

        def penalty(x):
            return 0.5 * (x[1] ** 2 + x[2] ** 2) / RIDGE_SD**2

        self.x = _fit_by_tallies(
            train, mean_fn, np.array([math.log(rate0), 0.0, 0.0, math.log(5.0)]), penalty
        )
        covered = np.zeros(len(ctx.strike), dtype=bool)
        for s, e in zip(train.start, train.end, strict=True):
            covered[max(s, 0) : e + 1] = True
        self.informed = {
            "strike": bool(np.any(ctx.strike[covered] > 0)),
            "truce": bool(np.any(ctx.truce[covered] > 0)),
        }

    def future_moments(self, lo, hi, ctx):
        """Return NB moments of the regression's rate summed over each window."""
        m = self._sums(lo, hi, self.x, ctx)
        return m, _nb_window(m, math.exp(self.x[3]))

    def params(self) -> dict[str, float]:
        """Return the coefficients and size."""
        return {
            "b0": self.x[0],
            "b_strike": self.x[1],
            "b_truce": self.x[2],
            "nb_size": math.exp(self.x[3]),
        }


class Hawkes(Baseline):
    """Hawkes process (exponential kernel) fitted to event times reconstructed from tallies."""

    name = "hawkes"
    description = "exponential-kernel Hawkes, MLE on reconstructed event times; simulated"

    def __init__(self, paths: int = 2000, seed: int = 0) -> None:
        self.paths, self.seed = paths, seed

    def fit(self, train: TallySet, ctx: Context) -> None:
        """Fit (mu, n, beta) by maximum likelihood on the reconstruction's event times."""
        self.times = reconstructed_times(ctx.recon)
        self.mu, self.n, self.beta = fit_hawkes(self.times, float(ctx.holdout_day))

    def future_moments(self, lo, hi, ctx):
        """Return moments of simulated counts on each window, conditioned on the history."""
        windows = np.stack([lo, hi + 1], axis=1).astype(float)
        end = float(max(np.max(hi) + 1, ctx.holdout_day + 1)) if len(hi) else ctx.holdout_day + 1
        sims = simulate_hawkes_counts(
            self.mu,
            self.n,
            self.beta,
            self.times,
            float(ctx.holdout_day),
            end,
            windows,
            self.paths,
            self.seed,
        ).astype(float)
        return sims.mean(axis=0), sims.var(axis=0, ddof=1)

    def params(self) -> dict[str, float]:
        """Return mu, branching ratio and decay."""
        return {
            "mu_per_day": self.mu,
            "branching_ratio": self.n,
            "beta_per_day": self.beta,
            "n_events_fitted": float(len(self.times)),
        }


def all_baselines(seed: int, hawkes_paths: int = 2000) -> list[Baseline]:
    """Return one fresh instance of every baseline."""
    return [Persistence(), Climatology(), NBRegression(), Hawkes(paths=hawkes_paths, seed=seed)]


def scores(mean: np.ndarray, var: np.ndarray, count: np.ndarray, bound: np.ndarray) -> pd.DataFrame:
    """Return per tally: log score, 90% interval, consistency with it, and CRPS.

    Parameters
    ----------
    mean, var : ndarray
        Predictive moments (scored through the moment-matched count distribution).
    count, bound : ndarray
        Reports.

    Returns
    -------
    pandas.DataFrame
        Columns mean, lo90, hi90, inside90, logscore, crps (NaN for lower bounds, whose true
        value is unknown; an approximate count is scored at its reported value).
    """
    lo, hi = O.predictive_interval(mean, var)
    crps = O.crps_count(mean, var, count)
    return pd.DataFrame(
        {
            "mean": mean,
            "lo90": lo,
            "hi90": hi,
            "inside90": O.consistent(lo, hi, count, bound),
            "logscore": O.count_logprob(mean, var, count, bound),
            "crps": np.where(np.asarray(bound) == "lower", np.nan, crps),
        }
    )
