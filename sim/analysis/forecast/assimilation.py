"""Data assimilation: condition simulated replicates on the observations known at an origin.

``particle_filter`` is a bootstrap particle filter over replicate STATES: R replicates
(spread over posterior parameter draws when a posterior sample is given) are run with the
segment engine (``sim.engines.segment``) from the scenario start to the end day of the next
report, weighted by that report's likelihood under the observation kernel below, and
resampled (systematic resampling of their state arrays, parameter point and the running
counts of every window) whenever the effective sample size falls below ``RESAMPLE_BELOW``
x R; resampled children continue with fresh random keys, so copies of one parent diverge.
After the last report the survivors run to the end of the forecast window. Without reports
(or without resampling) the filter reproduces the kernel's trajectories exactly.

The older scheme, **importance weighting of whole trajectories** (``log_weights`` on
trajectories run once from the start; ``simulate``), is kept as a comparison: it degenerates
(effective sample size of a few trajectories of 1000) because no trajectory is ever
corrected after a report.

In both schemes the replicates (spread over posterior parameter draws when a posterior
sample is given) run from the scenario start to the end of the forecast window, with every
inject dated AFTER the origin dropped (unless the run is
explicitly conditional on the timeline). Because draws are keyed by (seed, replicate, day,
actor, decision), the part of each trajectory before the origin does not depend on what is
dropped after it. A trajectory is weighted by the likelihood of the reports whose window
ends on or before the origin under the CALIBRATION's observation model
(``sim.analysis.calibrate.observation``), evaluated for one trajectory: its latent count x
is a one-replicate ensemble (mean x, variance x, as ``observation.singleton_logprob`` of a
single row), times the model discrepancy D (``discrepancy_moments`` with the particle's
``discrepancy.cv``), thinned by the counter's detection rate (``thin_moments`` with the
particle's ``detection.<counter>``; lower bounds are not thinned), and scored by
``observed.count_logprob`` (exact on its value, approximate on its ±20% interval, lower
bounds on P(report >= N)). Nested running totals of one counter are scored jointly by their
increments, as ``observation.chain_loglik`` of a single row (``chain_logprob``; the tests pin
both terms to the calibration's). Each particle's detection rates and discrepancy come from
its posterior draw (``Observation.from_posterior``); without a posterior, from the medians
of ``calibration/fitted.yaml``; a counter the posterior did not fit gets its detection
prior's median (``parameters.detection_parameters``). The forecast of a target is the
weighted mixture over trajectories of the same per-trajectory report distribution. The
effective sample size ``1 / sum(w^2)`` is reported with every forecast.

Conditioning on a documented event ("attack:pm:2021-11-07") is the same machinery: the weight
is multiplied by an indicator that the trajectory contains the event (an attack of any weapon
on the target within ``EVENT_TOLERANCE_DAYS`` of the date).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import vocab as V
from sim.analysis import observed as O
from sim.analysis.calibrate import observation as OB
from sim.analysis.calibrate import parameters as P
from sim.analysis.forecast import scoring as S
from sim.engines.design import Design
from sim.engines.kernel import run_kernel
from sim.engines.segment import States, replicate_keys, run_segment
from sim.model.world import compile_world
from sim.scenario import Scenario

FITTED = Path(__file__).resolve().parents[3] / "calibration" / "fitted.yaml"
"""Medians of the calibration: the observation parameters used without a posterior."""
EVENT_TOLERANCE_DAYS = 0
"""Days either side of a conditioned event's date that still count as the event."""
RESAMPLE_BELOW = 0.5
"""Resample when the effective sample size falls below this share of the particles."""
MAIN_WEAPONS = ("rocket",)
MAIN_TARGETS = ("us_base", "us_embassy", "convoy")


DURATION_KINDS = ("truce", "threat", "regional_war", "pressure_campaign")
"""Inject kinds whose ``days`` is a duration (the others ignore it)."""


def running_injects(scenario: Scenario, origin: dt.date) -> tuple:
    """Return the injects with a duration that started on or before ``origin`` and end after it."""
    return tuple(
        i
        for i in scenario.injects
        if i.kind in DURATION_KINDS
        and i.date <= origin < i.date + dt.timedelta(days=int(i.days) - 1)
    )


def without_future_injects(scenario: Scenario, origin: dt.date, cut: bool = True) -> Scenario:
    """Return the scenario with every inject dated after ``origin`` dropped.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    origin : datetime.date
        The last day whose information is used.
    cut : bool
        Cut an inject in force at the origin (``running_injects``: a truce, threat, regional
        war or pressure campaign that started on or before the origin and, as recorded, lasts
        past it) so that it ends on the origin: its recorded end is hindsight. After the cut
        the model's own state and rules run on. ``False`` keeps its recorded duration (a
        forecast conditional on that end, reported apart).
    """
    running = {id(i) for i in running_injects(scenario, origin)} if cut else set()
    kept = tuple(
        i.model_copy(update={"days": (origin - i.date).days + 1}) if id(i) in running else i
        for i in scenario.injects
        if i.date <= origin
    )
    return scenario.model_copy(update={"injects": kept})


def month_windows(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Return calendar-month windows of the main series as tally rows (for ``compile_tallies``)."""
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    return pd.DataFrame(
        {
            "id": [f"M{m}" for m in months],
            "start": [max(m.start_time, pd.Timestamp(start)) for m in months],
            "end": [min(m.end_time.normalize(), pd.Timestamp(end)) for m in months],
            "weapons": [MAIN_WEAPONS] * len(months),
            "targets": [MAIN_TARGETS] * len(months),
            "measure": "attacks",
        }
    )


def parse_condition(text: str) -> pd.DataFrame:
    """Parse ``attack:TARGET:YYYY-MM-DD`` into a one-row tally frame (the event's window).

    Raises
    ------
    ValueError
        With a one-line message naming what was expected and found.
    """
    parts = text.split(":")
    if len(parts) != 3 or parts[0] != "attack" or parts[1] not in V.TARGETS:
        raise ValueError(
            f"--condition: expected attack:TARGET:YYYY-MM-DD with TARGET one of "
            f"{', '.join(V.TARGETS)}; found {text!r}"
        )
    try:
        day = dt.date.fromisoformat(parts[2])
    except ValueError:
        raise ValueError(f"--condition: expected a date YYYY-MM-DD; found {parts[2]!r}") from None
    tol = dt.timedelta(days=EVENT_TOLERANCE_DAYS)
    return pd.DataFrame(
        {
            "id": [f"condition:{text}"],
            "start": [pd.Timestamp(day - tol)],
            "end": [pd.Timestamp(day + tol)],
            "weapons": [tuple(V.WEAPONS)],
            "targets": [(parts[1],)],
            "measure": ["attacks"],
        }
    )


@dataclass(frozen=True)
class Ensemble:
    """Simulated latent counts of every requested window, per trajectory."""

    counts: np.ndarray  # (R, K) int64
    ids: tuple[str, ...]
    draw: np.ndarray  # (R,) int: posterior draw of each trajectory (-1: the scenario's values)

    def column(self, ids: list[str] | tuple[str, ...]) -> np.ndarray:
        """Return the (R, len(ids)) counts of the given window ids."""
        pos = {k: i for i, k in enumerate(self.ids)}
        return self.counts[:, [pos[k] for k in ids]]


def simulate(
    scenario: Scenario,
    windows: pd.DataFrame,
    runs: int,
    seed: int,
    last: dt.date,
    posterior: pd.DataFrame | None = None,
    draws: int = 0,
) -> Ensemble:
    """Simulate ``runs`` trajectories up to ``last`` and count every window per trajectory.

    Parameters
    ----------
    scenario : Scenario
        The scenario (already without future injects). With ``posterior`` it must be the
        scenario WITHOUT calibration (``parameters.base_scenario``): draws are applied to it.
    windows : pandas.DataFrame
        Tally rows (id, start, end, weapons, targets, measure).
    runs : int
        Trajectories in all.
    seed : int
        Seed of the keyed random draws.
    last : datetime.date
        Last simulated day.
    posterior : pandas.DataFrame, optional
        Posterior sample (``posterior.parquet``: one column per parameter, plus ``weight``).
    draws : int
        Posterior draws used (replicates are split evenly among them).

    Returns
    -------
    Ensemble
    """
    world = dataclasses.replace(compile_world(scenario), seed=seed)
    n = (last - world.start).days + 1
    world = dataclasses.replace(world, n_days=int(min(world.n_days, n)))
    spec = O.compile_tallies(windows, world.start)
    if posterior is None or draws <= 0:
        rec, reps = run_kernel(world, 0, runs)
        return Ensemble(O.tally_matrix(rec, reps, 0, runs, spec), spec.ids, np.full(runs, -1))
    rng = np.random.default_rng(seed)
    w = posterior["weight"].to_numpy(float) if "weight" in posterior else None
    pick = rng.choice(len(posterior), size=draws, p=None if w is None else w / w.sum())
    names = tuple(c for c in posterior.columns if c in P.TARGETS)
    per = int(np.ceil(runs / draws))
    out, which = [], []
    for j, row in enumerate(pick):
        wj = P.apply_params(world, names, posterior.iloc[row][list(names)].to_numpy(float))
        rec, reps = run_kernel(wj, j * per, per)
        out.append(O.tally_matrix(rec, reps, j * per, per, spec))
        which.append(np.full(per, int(row)))
    return Ensemble(np.vstack(out)[:runs], spec.ids, np.concatenate(which)[:runs])


@dataclass(frozen=True)
class Filtered:
    """Result of ``particle_filter``: counts of every window on the surviving lineages.

    Attributes
    ----------
    counts : ndarray (R, K) int64
        Latent count of each window per particle (accumulated along its lineage).
    ids : tuple of str
        Window ids (columns of ``counts``).
    weights : ndarray (R,)
        Normalised weights at the end (after the last report's reweighting).
    draw : ndarray (R,) int
        Posterior row of each particle's parameters (-1: the scenario's values).
    stage_ess : tuple of float
        Effective sample size after each report day's reweighting (before any resampling).
    resamples : int
        Number of resampling steps.
    roots : int
        Distinct initial particles that the final particles descend from.
    draws_left : int
        Distinct posterior draws among the final particles (weighted > 0).
    points : ndarray (R,) int, optional
        Parameter point of each particle (row of ``obs``; default 0).
    obs : Observation, optional
        Observation parameters per point (default ``Observation.fitted()``).
    """

    counts: np.ndarray
    ids: tuple[str, ...]
    weights: np.ndarray
    draw: np.ndarray
    stage_ess: tuple[float, ...]
    resamples: int
    roots: int
    draws_left: int
    points: np.ndarray | None = None
    obs: Observation | None = None

    def report_parameters(self, counters, bounds) -> tuple[np.ndarray, np.ndarray]:
        """Return (detection rates (R, K), cv (R,)) of each particle for K reports."""
        pts = np.zeros(len(self.weights), np.int64) if self.points is None else self.points
        return (self.obs or Observation.fitted()).per_particle(pts, counters, bounds)

    def column(self, ids: list[str] | tuple[str, ...]) -> np.ndarray:
        """Return the (R, len(ids)) counts of the given window ids."""
        pos = {k: i for i, k in enumerate(self.ids)}
        return self.counts[:, [pos[k] for k in ids]]

    @property
    def ess(self) -> float:
        """Effective sample size of the final weights."""
        return ess(self.weights)


def systematic_resample(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return ancestor indices by systematic resampling of normalised weights ``w``."""
    n = len(w)
    u = (rng.random() + np.arange(n)) / n
    c = np.cumsum(w)
    c[-1] = 1.0
    return np.searchsorted(c, u, side="right").astype(np.int64)


def _design(world, posterior, draws, runs, seed):
    """Return (design, points, draw row per point) spreading ``runs`` over posterior draws."""
    if posterior is None or draws <= 0:
        return Design.repeat(world, 1), np.zeros(runs, np.int64), np.array([-1])
    rng = np.random.default_rng(seed)
    w = posterior["weight"].to_numpy(float) if "weight" in posterior else None
    pick = rng.choice(len(posterior), size=draws, p=None if w is None else w / w.sum())
    names = tuple(c for c in posterior.columns if c in P.TARGETS)
    design = Design.repeat(world, draws)
    for j, row in enumerate(pick):
        wj = P.apply_params(world, names, posterior.iloc[row][list(names)].to_numpy(float))
        design.g_before[j], design.g_after[j], design.fp[j] = wj.g_before, wj.g_after, wj.fp
        design.ap[j] = wj.ap
    per = int(np.ceil(runs / draws))
    points = np.repeat(np.arange(draws, dtype=np.int64), per)[:runs]
    return design, points, pick.astype(np.int64)


def particle_filter(
    scenario: Scenario,
    windows: pd.DataFrame,
    reports: pd.DataFrame,
    runs: int,
    seed: int,
    last: dt.date,
    posterior: pd.DataFrame | None = None,
    draws: int = 0,
    all_tallies: pd.DataFrame | None = None,
    resample_below: float = RESAMPLE_BELOW,
) -> Filtered:
    """Filter ``runs`` replicates through the reports, then run them to ``last``.

    Parameters
    ----------
    scenario : Scenario
        The scenario (already without future injects); with ``posterior``, without calibration.
    windows : pandas.DataFrame
        Tally rows (id, start, end, weapons, targets, measure) to count; must contain the
        reports' ids.
    reports : pandas.DataFrame
        Reports to assimilate (id, count, bound, counter_id, nested_in, end); each is
        assimilated on the day its window ends.
    runs, seed : int
        Particles and the seed of the keyed draws (replicate r of the first stage draws as the
        kernel's replicate r).
    last : datetime.date
        Last simulated day.
    posterior : pandas.DataFrame, optional
        Posterior sample (parameter columns and ``weight``).
    draws : int
        Posterior draws used (particles are split evenly among them).
    all_tallies : pandas.DataFrame, optional
        Every tally (nested chains are followed through rows not assimilated).
    resample_below : float
        Resample when the effective sample size falls below this share of ``runs``.

    Returns
    -------
    Filtered
    """
    world = dataclasses.replace(compile_world(scenario), seed=seed)
    n_days = int(min(world.n_days, (last - world.start).days + 1))
    world = dataclasses.replace(world, n_days=n_days)
    spec = O.compile_tallies(windows, world.start)
    design, points, pick = _design(world, posterior, draws, runs, seed)
    obs = Observation.from_posterior(posterior, pick) if pick[0] >= 0 else Observation.fitted()
    states = States.initial(world, design, points, replicate_keys(seed, np.arange(runs)))
    acc = np.zeros((runs, len(spec.ids)), dtype=np.int64)
    pos = {k: i for i, k in enumerate(spec.ids)}
    rep = reports.reset_index(drop=True)
    end_day = ((pd.to_datetime(rep["end"]) - pd.Timestamp(world.start)).dt.days).to_numpy()
    stops = sorted({int(d) for d in end_day if 0 <= d < n_days})
    rng = np.random.default_rng(seed + 1)
    lw = np.zeros(runs)
    roots = np.arange(runs)
    stage_ess: list[float] = []
    resamples = 0
    prev_ll = np.zeros(runs)
    for k, stop in enumerate([*stops, n_days - 1]):
        recs, rows = run_segment(world, design, states, stop + 1)
        acc += O.tally_matrix(recs, rows, 0, runs, spec)
        if k == len(stops):
            break
        now = rep[end_day <= stop]
        ll = log_weights(acc[:, [pos[i] for i in now["id"]]], now, all_tallies, obs, states.points)
        lw = lw + ll - prev_ll
        prev_ll = ll
        w = normalise(lw)
        stage_ess.append(ess(w))
        if stage_ess[-1] < resample_below * runs:
            anc = systematic_resample(w, rng)
            child_seed = (seed * 1_000_003 + stop + 1) % 2**62
            states = states.take(anc, replicate_keys(child_seed, np.arange(runs)))
            acc, prev_ll, roots = acc[anc], prev_ll[anc], roots[anc]
            lw = np.zeros(runs)
            resamples += 1
    w = normalise(lw)
    draw = pick[states.points] if pick[0] >= 0 else np.full(runs, -1)
    return Filtered(
        acc,
        spec.ids,
        w,
        draw,
        tuple(stage_ess),
        resamples,
        int(len(np.unique(roots[w > 0]))),
        int(len(np.unique(states.points[w > 0]))),
        states.points.copy(),
        obs,
    )


def _prior_median(counter: str) -> float:
    """Return the median of a counter's detection prior (a counter no posterior fitted)."""
    return float(P.detection_parameters([counter])[0].prior.ppf(np.array([0.5]))[0])


def _discrepancy_prior_median() -> float:
    return float(P.DISCREPANCY_PARAMETER.prior.ppf(np.array([0.5]))[0])


@cache
def _fitted_medians(path: Path = FITTED) -> dict[str, float]:
    """Return the medians of the observation parameters in ``fitted.yaml`` (empty if absent)."""
    if not path.exists():
        return {}
    pars = yaml.safe_load(path.read_text(encoding="utf-8"))["fit"].get("parameters", {})
    return {
        k: float(v["median"])
        for k, v in pars.items()
        if k.startswith("detection.") or k == OB.DISCREPANCY
    }


@dataclass(frozen=True)
class Observation:
    """Observation parameters of each parameter point: detection rates and discrepancy cv.

    Row j holds the values of parameter point j (``States.points``: a posterior draw, or the
    single point of a run without posterior).
    """

    values: pd.DataFrame  # (J, ...) columns detection.<counter> and discrepancy.cv

    @classmethod
    def from_posterior(cls, posterior: pd.DataFrame, rows: np.ndarray) -> Observation:
        """Return the observation parameters of the posterior ``rows`` (one per point)."""
        cols = [c for c in posterior.columns if c.startswith("detection.") or c == OB.DISCREPANCY]
        return cls(posterior.iloc[np.asarray(rows)][cols].reset_index(drop=True))

    @classmethod
    def fitted(cls, path: Path = FITTED) -> Observation:
        """Return one point with the medians of ``fitted.yaml`` (the scenario's calibration)."""
        return cls(pd.DataFrame([_fitted_medians(path)], index=[0]))

    @property
    def n_points(self) -> int:
        """Number of parameter points."""
        return len(self.values)

    def cv(self) -> np.ndarray:
        """Return the discrepancy cv of each point (the prior median when not fitted)."""
        if OB.DISCREPANCY in self.values:
            return self.values[OB.DISCREPANCY].to_numpy(float)
        return np.full(self.n_points, _discrepancy_prior_median())

    def rate(self, counter: str, bound: str) -> np.ndarray:
        """Return the detection rate of ``counter`` at each point (1 for a lower bound)."""
        if bound == "lower":
            return np.ones(self.n_points)
        name = f"detection.{counter}"
        if name in self.values:
            return self.values[name].to_numpy(float)
        return np.full(self.n_points, _prior_median(counter))

    def per_particle(self, points: np.ndarray, counters, bounds) -> tuple[np.ndarray, np.ndarray]:
        """Return (detection rates (R, K), cv (R,)) of particles at ``points`` for K reports."""
        pts = np.asarray(points, dtype=np.int64)
        rates = (
            np.column_stack(
                [self.rate(str(c), str(b))[pts] for c, b in zip(counters, bounds, strict=True)]
            )
            if len(counters)
            else np.ones((len(pts), 0))
        )
        return rates, self.cv()[pts]


def report_moments(x: np.ndarray, p: np.ndarray, cv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and variance of a report given one trajectory's latent count.

    The calibration's singleton moments for a one-replicate ensemble (mean ``x``, variance
    ``x``: ``observation.singleton_logprob`` of a single row), with the model discrepancy
    (``observation.discrepancy_moments``) and detection thinning (``observation.thin_moments``).

    Parameters
    ----------
    x : ndarray (R,)
        Latent counts, one per trajectory.
    p, cv : ndarray (R,)
        Detection rate and discrepancy cv of each trajectory.

    Returns
    -------
    tuple of ndarray (R,)
    """
    x = np.asarray(x, dtype=float)
    p = np.broadcast_to(np.asarray(p, dtype=float), x.shape)
    cv = np.broadcast_to(np.asarray(cv, dtype=float), x.shape)
    mean, var = np.empty_like(x), np.empty_like(x)
    for c in np.unique(cv):
        s = cv == c
        m, v = OB.discrepancy_moments(x[s], x[s], float(c))
        mean[s], var[s] = OB.thin_moments(m, v, p[s])
    return mean, var


def chain_logprob(
    x: np.ndarray, count: np.ndarray, bound: np.ndarray, p: np.ndarray, cv: np.ndarray
) -> np.ndarray:
    """Return each trajectory's joint log likelihood of one chain of nested running totals.

    ``observation.chain_loglik`` of a one-replicate ensemble (per-increment covariance
    ``diag(x)``), for R trajectories at once (batched Cholesky).

    Parameters
    ----------
    x : ndarray (R, k)
        Latent totals of the chain's windows per trajectory (ordered by end).
    count, bound : ndarray (k,)
        Reported totals and their bounds (``exact`` or ``approx``).
    p, cv : ndarray (R,)
        The counter's detection rate and the discrepancy cv of each trajectory.

    Returns
    -------
    ndarray (R,)
        Floored at ``observed.LOG_FLOOR``.
    """
    dx = OB.increments(np.asarray(x, dtype=float))
    r, k = dx.shape
    pk = np.repeat(np.asarray(p, dtype=float), k)
    ck = np.repeat(np.asarray(cv, dtype=float), k)
    mu, var = report_moments(dx.ravel(), pk, ck)
    mu, var = mu.reshape(r, k), var.reshape(r, k) + OB.DISCRETE_VAR
    approx = np.asarray(bound) == "approx"
    err = np.where(approx, (OB.APPROX_SD * np.maximum(np.cumsum(mu, axis=1), 1.0)) ** 2, 0.0)
    a = OB.increment_matrix(k)
    sig = var[:, :, None] * np.eye(k) + np.einsum("ij,rj,lj->ril", a, err, a)
    d = OB.increments(np.asarray(count, dtype=float))[None, :] - mu
    c = np.linalg.cholesky(sig)
    z = np.linalg.solve(c, d[:, :, None])[:, :, 0]
    diag = np.diagonal(c, axis1=1, axis2=2)
    lp = -0.5 * (z * z).sum(axis=1) - np.log(diag).sum(axis=1) - 0.5 * k * np.log(2.0 * np.pi)
    return np.where(np.isfinite(lp), np.maximum(lp, O.LOG_FLOOR), O.LOG_FLOOR)


def log_weights(
    sim: np.ndarray,
    reports: pd.DataFrame,
    all_tallies: pd.DataFrame | None = None,
    obs: Observation | None = None,
    points: np.ndarray | None = None,
) -> np.ndarray:
    """Return each trajectory's log likelihood of the reports (columns of ``sim`` in row order).

    Parameters
    ----------
    sim : ndarray (R, K)
        Latent counts of the reports' windows per trajectory.
    reports : pandas.DataFrame
        The assimilated tallies (id, count, bound, counter_id, nested_in, end), K rows.
    all_tallies : pandas.DataFrame, optional
        Every tally (chains are followed through rows not assimilated).
    obs : Observation, optional
        Observation parameters per parameter point (default ``Observation.fitted()``).
    points : ndarray (R,) of int, optional
        Parameter point of each trajectory (default 0 for all).

    Returns
    -------
    ndarray (R,)
        Sum of the calibration likelihood's singleton and chain terms for each trajectory.
    """
    r = sim.shape[0]
    lw = np.zeros(r)
    if len(reports) == 0:
        return lw
    obs = obs or Observation.fitted()
    pts = np.zeros(r, dtype=np.int64) if points is None else np.asarray(points)
    rep = reports.reset_index(drop=True)
    blocks = OB.blocks(rep, all_tallies)
    count = rep["count"].to_numpy(np.int64)
    bound = rep["bound"].to_numpy(str)
    rates, cv = obs.per_particle(pts, rep["counter_id"].astype(str).to_numpy(), bound)
    x = np.asarray(sim, dtype=float)
    for i in blocks.singletons:
        m, v = report_moments(x[:, i], rates[:, i], cv)
        lw += O.count_logprob(m, v, np.full(r, count[i]), np.full(r, bound[i]))
    for c in blocks.chains:
        lw += chain_logprob(x[:, c], count[c], bound[c], rates[:, c[0]], cv)
    return lw


def normalise(log_w: np.ndarray) -> np.ndarray:
    """Return normalised weights from log weights."""
    a = np.asarray(log_w, dtype=float)
    w = np.exp(a - np.max(a))
    return w / w.sum()


def ess(w: np.ndarray) -> float:
    """Return the effective sample size ``1 / sum(w^2)`` of normalised weights."""
    return float(1.0 / np.sum(np.asarray(w) ** 2))


def forecast_pmf(
    counts: np.ndarray,
    w: np.ndarray,
    grid: int,
    rates: np.ndarray | None = None,
    cv: np.ndarray | None = None,
) -> np.ndarray:
    """Return the weighted mixture pmf of each target (columns of ``counts``) on 0..grid-1.

    Each trajectory contributes its report distribution (``report_moments``: discrepancy and
    detection of the observation model, moment-matched by ``scoring.nb_pmf``), so the model's
    forecast of a report includes the observation model.

    Parameters
    ----------
    counts : ndarray (R, K)
        Latent counts per trajectory.
    w : ndarray (R,)
        Normalised weights.
    grid : int
        Grid size.
    rates : ndarray (R, K), optional
        Detection rate of each target's counter per trajectory (default 1).
    cv : ndarray (R,), optional
        Discrepancy cv per trajectory (default 0).

    Returns
    -------
    ndarray (K, grid)
    """
    x = np.asarray(counts, dtype=float)
    r = x.shape[0]
    rates = np.ones_like(x) if rates is None else np.asarray(rates, dtype=float)
    cv = np.zeros(r) if cv is None else np.asarray(cv, dtype=float)
    out = np.zeros((x.shape[1], grid))
    for j in range(x.shape[1]):
        key = np.column_stack([x[:, j], rates[:, j], cv])
        vals, inv = np.unique(key, axis=0, return_inverse=True)
        wv = np.bincount(inv.ravel(), weights=w, minlength=len(vals))
        keep = wv > 0
        m, v = report_moments(vals[keep, 0], vals[keep, 1], vals[keep, 2])
        out[j] = wv[keep] @ S.nb_pmf(m, v, grid)
    return out


def weighted_quantiles(x: np.ndarray, w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Return weighted quantiles of each column of ``x``: shape (len(q), K)."""
    x = np.asarray(x, dtype=float)
    out = np.empty((len(q), x.shape[1]))
    for j in range(x.shape[1]):
        o = np.argsort(x[:, j])
        cw = np.cumsum(w[o])
        idx = np.searchsorted(cw, np.asarray(q) * cw[-1] - 1e-12)
        out[:, j] = x[o, j][np.minimum(idx, len(o) - 1)]
    return out
