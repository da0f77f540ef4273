"""Calibration of a scenario against observed attack tallies by simulated likelihood.

The calibrated parameters (``PARAMETERS``) are a small set with bounds and reasons; every other
parameter keeps its scenario value. A candidate is applied directly to the compiled ``World``
arrays and simulated by the batch kernel with the same seed and replicates for every candidate
(common random numbers), so the objective is a deterministic function of the parameters.

Likelihood. Each tally's simulated counts over R replicates are summarised by their mean and
variance, and a negative binomial with those moments (Poisson if not overdispersed) scores the
report: the probability of the count ("exact"), of the interval +-20% ("approx") or of at least
the count ("lower"); see ``sim.analysis.observed.count_logprob``. The log probabilities of all
fitted tallies are summed. Tallies overlap (T06 contains T01 ...), so this sum is a composite
likelihood: fine for a point estimate, over-confident if read as a full likelihood.

Fit. ``scipy.optimize.differential_evolution`` (seeded, ``polish=False``, serial: the kernel
already runs replicates on every core, and a pool of single-threaded workers measured slower)
maximises the composite log likelihood plus a weak prior: a normal on the (log) parameter
centred on the scenario value, with sd a quarter of the box. The prior only matters for
parameters the data do not inform (in a holdout fit, e.g. the truce suppression when no truce
lies in the training window). The scenario values also seed one member of the population.

Uncertainty. ABC rejection: Sobol points mapped through the prior (``scipy.stats.qmc``), each
simulated with common random numbers; the points with the highest composite log likelihood
(the accepted fraction) form the approximate posterior sample. Intervals are its 5-95%
quantiles; correlations among accepted points show which parameters trade off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import vocab as V
from sim.analysis import observed as O
from sim.engines.kernel import run_kernel
from sim.model import layout as L
from sim.model.world import World, compile_world
from sim.scenario import Scenario, parse_scenario

REPO = O.DATA_DIR.parent.parent
DEFAULT_SCENARIO = REPO / "scenarios" / "historical.yaml"
DEFAULT_OUT = O.DATA_DIR.parent
CHECK_OFFSET = 1_000_000
"""First replicate of predictive checks: disjoint from the replicates the fit simulated."""
MAIN_WEAPONS = ("rocket",)
MAIN_TARGETS = ("us_base", "us_embassy", "convoy")
"""The main series of the baselines: rocket attacks on US targets (the most reported rule)."""


@dataclass(frozen=True)
class Param:
    """One calibrated parameter.

    ``target`` is ``"g:<name>"`` (an entry of the global vector, ``sim.model.layout.G_NAMES``) or
    ``"scale:<what>"`` (a multiplier on scenario values: ``base_rate`` and ``target_convoy`` of
    every faction, or ``lethality`` of rockets, IEDs and drones).
    """

    name: str
    target: str
    lo: float
    hi: float
    log: bool
    reason: str
    identified_by: str

    def to_z(self, x: float | np.ndarray) -> float | np.ndarray:
        """Map a parameter value to the optimiser's coordinate (log for scale-type ones)."""
        return np.log(x) if self.log else x

    def from_z(self, z: float | np.ndarray) -> float | np.ndarray:
        """Map an optimiser coordinate back to a parameter value."""
        return np.exp(z) if self.log else z

    @property
    def z_bounds(self) -> tuple[float, float]:
        """Bounds in the optimiser's coordinate."""
        return float(self.to_z(self.lo)), float(self.to_z(self.hi))


PARAMETERS: tuple[Param, ...] = (
    Param(
        "rate_scale",
        "scale:base_rate",
        0.25,
        4.0,
        True,
        "one multiplier on every faction's base_rate: the overall level of attacks (tallies "
        "never name the faction, so per-faction rates are not identifiable separately)",
        "T01-T07, T13, T17",
    ),
    Param(
        "convoy_scale",
        "scale:target_convoy",
        0.2,
        10.0,
        True,
        "multiplier on every faction's convoy target weight: the share of roadside IEDs on "
        "convoys among attacks on US targets",
        "T10, T11 (IEDs) against T14 (rockets); T09, T12, T17 (both)",
    ),
    Param(
        "militia.excitation_jump",
        "g:m_excitation_jump",
        0.0,
        3.0,
        False,
        "self-excitation per attack (Hawkes-type clustering of volleys)",
        "short peak windows (T08, T10, T11) against long ones",
    ),
    Param(
        "militia.excitation_tau",
        "g:m_excitation_tau",
        3.0,
        90.0,
        True,
        "how long excitation lasts: the width of clusters",
        "T09-T12 against T08; trades off with excitation_jump",
    ),
    Param(
        "militia.beta_grievance",
        "g:m_beta_grievance",
        0.0,
        1.0,
        False,
        "response to grievance from US strikes and arrests: attacks after Dec 2019 / Mar 2020",
        "T03-T05 against T01, T02",
    ),
    Param(
        "pm.backfire_excitation",
        "g:pm_backfire_excitation",
        0.0,
        10.0,
        False,
        "excitation from the forced release after the June 2020 raid: the summer-2020 surge "
        "(S2, S4)",
        "T09-T12, T14 against T08",
    ),
    Param(
        "militia.deniability",
        "g:m_deniability",
        0.0,
        10.0,
        False,
        "shift of a raided faction's attacks to deniable convoy IEDs: the convoy surge of Aug-Sep "
        "2020 after the June 2020 raid (S1, S2)",
        "T10, T11 (IEDs) against T14 (rockets) in the same weeks",
    ),
    Param(
        "truce.suppression",
        "g:truce_suppression",
        0.5,
        1.0,
        False,
        "share of a complying faction's attacks suppressed by a truce",
        "T16 (0 embassy rockets in the October 2020 truce)",
    ),
    Param(
        "lethality_scale",
        "scale:lethality",
        0.25,
        5.0,
        True,
        "multiplier on the lethality of rockets, IEDs and drones",
        "T18 (deaths)",
    ),
)


# --- scenarios with and without a fit ------------------------------------------------------------


def _scenario_doc(path: Path) -> dict:
    from sim.scenario import ScenarioError
    from sim.scenario.loader import _read_text, parse_yaml

    text = _read_text(path)
    doc, _ = parse_yaml(text, str(path))
    if not isinstance(doc, dict):
        raise ScenarioError(
            str(path), 1, "(document)", "a mapping of scenario fields", type(doc).__name__
        )
    return doc


def base_scenario(path: Path) -> Scenario:
    """Load a scenario WITHOUT its ``calibration`` overlay (the values a fit starts from).

    Parameters
    ----------
    path : Path
        Scenario YAML (may use ``extends``; paths resolve relative to it).

    Returns
    -------
    Scenario
        The validated scenario, ignoring whatever fitted.yaml currently holds.
    """
    doc = _scenario_doc(path)
    doc.pop("calibration", None)
    return parse_scenario(yaml.safe_dump(doc, sort_keys=False), str(path))


def scenario_with_fit(path: Path, fitted: Path) -> Scenario:
    """Load a scenario with ``fitted`` as its calibration overlay (through the normal loader).

    Parameters
    ----------
    path : Path
        Scenario YAML.
    fitted : Path
        A fitted.yaml written by ``write_fitted``.

    Returns
    -------
    Scenario
        The validated scenario with the fitted values merged by ``sim.scenario``.
    """
    doc = _scenario_doc(path)
    doc["calibration"] = str(Path(fitted).resolve())
    return parse_scenario(yaml.safe_dump(doc, sort_keys=False), str(path))


# --- applying a candidate ------------------------------------------------------------------------


def _scales(params: tuple[Param, ...], theta: np.ndarray) -> dict[str, float]:
    return {
        p.target[6:]: float(v)
        for p, v in zip(params, theta, strict=True)
        if p.target.startswith("scale:")
    }


def apply_params(world: World, params: tuple[Param, ...], theta: np.ndarray) -> World:
    """Return a copy of ``world`` with candidate values written into its arrays.

    Parameters
    ----------
    world : World
        The compiled scenario without calibration.
    params : tuple of Param
        The calibrated parameters.
    theta : ndarray
        One value per parameter (natural units).

    Returns
    -------
    World
        A new World; ``g_before`` and ``g_after`` both receive global values (a policy of the
        calibrated scenario would otherwise be overridden).
    """
    gb, ga, fp = world.g_before.copy(), world.g_after.copy(), world.fp.copy()
    for p, v in zip(params, theta, strict=True):
        if p.target.startswith("g:"):
            i = L.G_INDEX[p.target[2:]]
            gb[i] = ga[i] = float(v)
    sc = _scales(params, theta)
    if "base_rate" in sc:
        fp[:, L.F_BASE_RATE] *= sc["base_rate"]
    if "target_convoy" in sc:
        fp[:, L.F_TARGET_CONVOY] *= sc["target_convoy"]
    if "lethality" in sc:
        for name in ("m_lethality_rocket", "m_lethality_ied", "m_lethality_drone"):
            i = L.G_INDEX[name]
            gb[i] = min(1.0, gb[i] * sc["lethality"])
            ga[i] = min(1.0, ga[i] * sc["lethality"])
    return dataclasses.replace(world, g_before=gb, g_after=ga, fp=np.ascontiguousarray(fp))


def default_theta(world: World, params: tuple[Param, ...]) -> np.ndarray:
    """Return the scenario's own value of each parameter (1 for multipliers)."""
    out = []
    for p in params:
        out.append(world.g_before[L.G_INDEX[p.target[2:]]] if p.target.startswith("g:") else 1.0)
    return np.array(out, dtype=float)


# --- the problem ---------------------------------------------------------------------------------


@dataclass
class Problem:
    """Fitted tallies, the world they are simulated in, and the simulation budget."""

    world: World
    tallies: pd.DataFrame
    spec: O.TallySpec
    params: tuple[Param, ...]
    seed: int
    runs: int
    prior_centre: np.ndarray = field(init=False)
    prior_sd: np.ndarray = field(init=False)
    n_evals: int = 0

    def __post_init__(self) -> None:
        lo = np.array([p.z_bounds[0] for p in self.params])
        hi = np.array([p.z_bounds[1] for p in self.params])
        centre = np.array(
            [
                p.to_z(max(v, p.lo if p.log else v))
                for p, v in zip(self.params, default_theta(self.world, self.params), strict=True)
            ]
        )
        self.prior_centre = np.clip(centre, lo, hi)
        self.prior_sd = (hi - lo) / 4.0

    @property
    def counts(self) -> np.ndarray:
        """Reported counts of the fitted tallies."""
        return self.tallies["count"].to_numpy(np.int64)

    @property
    def bounds(self) -> np.ndarray:
        """Bounds (exact / approx / lower) of the fitted tallies."""
        return self.tallies["bound"].to_numpy(str)

    def simulate(
        self,
        theta: np.ndarray,
        runs: int | None = None,
        rep_start: int = 0,
        world: World | None = None,
        spec: O.TallySpec | None = None,
    ) -> np.ndarray:
        """Return the (runs, K) matrix of simulated tallies for parameter values ``theta``."""
        n = self.runs if runs is None else runs
        w = apply_params(world or self.world, self.params, theta)
        rec, reps = run_kernel(w, rep_start, n)
        self.n_evals += 1
        return O.tally_matrix(rec, reps, rep_start, n, spec or self.spec)

    def loglik(self, theta: np.ndarray, runs: int | None = None) -> np.ndarray:
        """Return the log probability of each fitted tally under ``theta`` (simulated)."""
        m = self.simulate(theta, runs).astype(float)
        var = m.var(axis=0, ddof=1) if m.shape[0] > 1 else m.mean(axis=0)
        return O.count_logprob(m.mean(axis=0), var, self.counts, self.bounds)

    def logprior(self, z: np.ndarray) -> float:
        """Return the weak normal log prior (up to a constant) at optimiser coordinates ``z``."""
        return float(-0.5 * np.sum(((z - self.prior_centre) / self.prior_sd) ** 2))

    def theta(self, z: np.ndarray) -> np.ndarray:
        """Map optimiser coordinates to parameter values."""
        return np.array([p.from_z(v) for p, v in zip(self.params, z, strict=True)])

    def objective(self, z: np.ndarray) -> float:
        """Return minus (composite log likelihood + log prior) at coordinates ``z``."""
        return -(float(self.loglik(self.theta(z)).sum()) + self.logprior(z))


def make_problem(
    scenario: Scenario,
    tallies: pd.DataFrame,
    seed: int,
    runs: int,
    params: tuple[Param, ...] = PARAMETERS,
) -> Problem:
    """Build a calibration problem: the uncalibrated world cut at the last fitted tally's end.

    Parameters
    ----------
    scenario : Scenario
        The scenario without calibration (``base_scenario``).
    tallies : pandas.DataFrame
        Tallies to fit (rows of ``sim.analysis.observed.load_tallies``), all inside the horizon.
    seed : int
        Seed of the common random numbers.
    runs : int
        Replicates per candidate.
    params : tuple of Param
        Calibrated parameters.

    Returns
    -------
    Problem
    """
    world = dataclasses.replace(compile_world(scenario), seed=seed)
    last = (tallies["end"].max().date() - world.start).days + 1
    world = dataclasses.replace(world, n_days=int(min(world.n_days, last)))
    spec = O.compile_tallies(tallies, world.start)
    return Problem(world, tallies.reset_index(drop=True), spec, params, seed, runs)


def fittable(tallies: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Return the tallies marked for fitting whose windows lie inside the scenario's horizon."""
    inside = (tallies["start"].dt.date >= scenario.start) & (tallies["end"].dt.date <= scenario.end)
    return tallies[(tallies["use"] == "fit") & inside].reset_index(drop=True)


# --- the fit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitSettings:
    """Budget of one calibration (``quick`` gives a smoke-test configuration)."""

    seed: int
    runs: int = 120
    popsize: int = 6
    maxiter: int = 25
    abc_samples: int = 1024
    abc_runs: int = 60
    abc_accept: float = 0.05
    check_runs: int = 1000

    @classmethod
    def quick(cls, seed: int) -> FitSettings:
        """Return a tiny configuration for tests and smoke runs (seconds, not minutes)."""
        return cls(
            seed=seed,
            runs=12,
            popsize=2,
            maxiter=2,
            abc_samples=16,
            abc_runs=8,
            abc_accept=0.25,
            check_runs=40,
        )


@dataclass
class FitResult:
    """The optimum and how it was found."""

    theta: np.ndarray
    z: np.ndarray
    objective: float
    loglik: float
    logprior: float
    per_tally: np.ndarray
    n_evals: int
    generations: int
    history: list[float]
    seconds: float
    message: str


class _Objective:
    """The objective as a picklable callable."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def __call__(self, z: np.ndarray) -> float:
        return self.problem.objective(np.asarray(z, dtype=float))


def fit(
    problem: Problem, settings: FitSettings, progress: Callable[[str], None] | None = None
) -> FitResult:
    """Maximise the composite log likelihood plus log prior with differential evolution.

    Parameters
    ----------
    problem : Problem
        Tallies, world and budget.
    settings : FitSettings
        Seed, population size and generations.
    progress : callable, optional
        Called with a one-line status after each generation.

    Returns
    -------
    FitResult
        The optimum (values rounded to 4 significant digits, as written to fitted.yaml) and
        its log likelihood recomputed at the rounded values.
    """
    from scipy.optimize import differential_evolution

    t0 = time.perf_counter()
    history: list[float] = []

    def callback(intermediate_result) -> None:
        history.append(float(intermediate_result.fun))
        if progress:
            progress(f"generation {len(history)}: objective {intermediate_result.fun:.3f}")

    res = differential_evolution(
        _Objective(problem),
        [p.z_bounds for p in problem.params],
        rng=settings.seed,
        popsize=settings.popsize,
        maxiter=settings.maxiter,
        polish=False,
        updating="deferred",
        init="latinhypercube",
        x0=problem.prior_centre,
        callback=callback,
        tol=0.0,
    )
    theta = np.array([_round(v) for v in problem.theta(res.x)])
    z = np.array([p.to_z(v) for p, v in zip(problem.params, theta, strict=True)])
    per = problem.loglik(theta)
    lp = problem.logprior(z)
    return FitResult(
        theta,
        z,
        -(float(per.sum()) + lp),
        float(per.sum()),
        lp,
        per,
        int(res.nfev),
        len(history),
        history,
        time.perf_counter() - t0,
        str(res.message),
    )


def _round(x: float, digits: int = 4) -> float:
    if x == 0.0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


# --- uncertainty: ABC rejection on Sobol points from the prior -----------------------------------


@dataclass
class AbcResult:
    """Prior sample, its composite log likelihoods and the accepted (posterior) subset."""

    theta: np.ndarray  # (N, d)
    loglik: np.ndarray  # (N,)
    accepted: np.ndarray  # (N,) bool
    threshold: float
    seconds: float

    def intervals(self, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Return quantiles (rows) of each parameter (columns) among accepted points."""
        return np.quantile(self.theta[self.accepted], q, axis=0)

    def prior_intervals(self, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """Return the same quantiles over the whole prior sample."""
        return np.quantile(self.theta, q, axis=0)

    def correlations(self) -> np.ndarray:
        """Return the Spearman rank correlation matrix of accepted points."""
        from scipy.stats import spearmanr

        acc = self.theta[self.accepted]
        if acc.shape[0] < 3:
            return np.full((acc.shape[1], acc.shape[1]), np.nan)
        rho = spearmanr(acc).statistic
        return np.atleast_2d(rho)


def abc(
    problem: Problem, settings: FitSettings, progress: Callable[[int, int], None] | None = None
) -> AbcResult:
    """Run ABC rejection: Sobol points through the prior, accept the best fraction.

    Parameters
    ----------
    problem : Problem
        Tallies, world and prior.
    settings : FitSettings
        ``abc_samples`` (rounded up to a power of 2), ``abc_runs`` replicates each,
        ``abc_accept`` the accepted fraction, ``seed`` for the scrambled Sobol sequence.
    progress : callable, optional
        Called with (done, total).

    Returns
    -------
    AbcResult
    """
    from scipy.stats import qmc, truncnorm

    t0 = time.perf_counter()
    d = len(problem.params)
    m = max(1, math.ceil(math.log2(max(2, settings.abc_samples))))
    u = qmc.Sobol(d, scramble=True, rng=settings.seed).random_base2(m)
    lo = np.array([p.z_bounds[0] for p in problem.params])
    hi = np.array([p.z_bounds[1] for p in problem.params])
    a = (lo - problem.prior_centre) / problem.prior_sd
    b = (hi - problem.prior_centre) / problem.prior_sd
    z = truncnorm.ppf(u, a, b, loc=problem.prior_centre, scale=problem.prior_sd)
    theta = np.array([problem.theta(row) for row in z])
    ll = np.empty(len(theta))
    for i, th in enumerate(theta):
        ll[i] = problem.loglik(th, runs=settings.abc_runs).sum()
        if progress:
            progress(i + 1, len(theta))
    k = max(2, int(round(settings.abc_accept * len(theta))))
    order = np.argsort(-ll, kind="stable")
    accepted = np.zeros(len(theta), dtype=bool)
    accepted[order[:k]] = True
    return AbcResult(theta, ll, accepted, float(ll[order[k - 1]]), time.perf_counter() - t0)


def identifiability_notes(
    abc_res: AbcResult, params: tuple[Param, ...], threshold: float = 0.4
) -> list[str]:
    """Return sentences on which parameters trade off and which the data barely move.

    Pairs whose rank correlation among accepted points reaches ``threshold`` in absolute value
    are named (or, if none does, the strongest pair with its correlation); a parameter is
    weakly identified when its accepted 90% interval is more than 80% as wide as its prior 90%
    interval (on the optimiser's scale).
    """
    notes = []
    n_acc = int(abc_res.accepted.sum())
    if n_acc < 20:
        notes.append(
            f"Only {n_acc} accepted points: the correlations below are not informative "
            "(a smoke-test budget)."
        )
    rho = abc_res.correlations()
    pairs = [
        (abs(rho[i, j]), i, j)
        for i in range(len(params))
        for j in range(i + 1, len(params))
        if np.isfinite(rho[i, j])
    ]
    pairs.sort(reverse=True)
    for r, i, j in pairs:
        if r < threshold:
            break
        kind = "trade off (higher one, lower the other)" if rho[i, j] < 0 else "move together"
        notes.append(
            f"{params[i].name} and {params[j].name} {kind}: rank correlation "
            f"{rho[i, j]:+.2f} among accepted points."
        )
    if pairs and not notes:
        _, i, j = pairs[0]
        notes.append(
            f"No pair of parameters has a rank correlation of {threshold} or more among "
            f"accepted points; the strongest is {params[i].name} with {params[j].name} "
            f"({rho[i, j]:+.2f})."
        )
    post = abc_res.intervals((0.05, 0.95))
    prior = abc_res.prior_intervals((0.05, 0.95))
    for k, p in enumerate(params):
        wp = float(p.to_z(post[1, k]) - p.to_z(post[0, k]))
        w0 = float(p.to_z(prior[1, k]) - p.to_z(prior[0, k]))
        if w0 > 0 and wp / w0 > 0.8:
            notes.append(
                f"{p.name} is weakly identified: its accepted 90% interval is "
                f"{wp / w0:.0%} as wide as the prior's."
            )
    return notes


# --- writing the fit -----------------------------------------------------------------------------


def overlay(scenario: Scenario, params: tuple[Param, ...], theta: np.ndarray) -> dict:
    """Return the fitted.yaml sections (without ``fit``) for values ``theta``.

    Parameters
    ----------
    scenario : Scenario
        The scenario without calibration (multipliers apply to its values).
    params : tuple of Param
        Calibrated parameters.
    theta : ndarray
        Their values.

    Returns
    -------
    dict
        ``militia``/``us``/``pm``/``iran``/``truce`` mappings of field -> value and
        ``factions`` as {name: {field: value}}: absolute values, not multipliers.
    """
    sections: dict[str, dict] = {}
    for p, v in zip(params, theta, strict=True):
        if p.target.startswith("g:"):
            sec, fld = p.name.split(".", 1)
            sections.setdefault(sec, {})[fld] = _round(float(v), 6)
    sc = _scales(params, theta)
    if "lethality" in sc:
        # all four weapons: a partial mapping would reset small_arms to the field default
        leth = scenario.militia.lethality
        sections.setdefault("militia", {})["lethality"] = {
            w: _round(
                min(1.0, getattr(leth, w) * (sc["lethality"] if w != "small_arms" else 1.0)), 6
            )
            for w in V.WEAPONS
        }
    factions: dict[str, dict] = {}
    for f in scenario.factions:
        entry: dict = {}
        if "base_rate" in sc:
            entry["base_rate"] = _round(f.base_rate * sc["base_rate"], 6)
        if "target_convoy" in sc:
            entry["targets"] = {"convoy": _round(f.targets.convoy * sc["target_convoy"], 6)}
        if entry:
            factions[f.name] = entry
    out = {k: sections[k] for k in ("militia", "us", "pm", "iran", "truce") if k in sections}
    if factions:
        out["factions"] = factions
    return out


def fitted_yaml(
    scenario: Scenario, params: tuple[Param, ...], theta: np.ndarray, fit_block: dict
) -> str:
    """Return the text of fitted.yaml: overlay sections and a ``fit`` provenance block."""
    doc = overlay(scenario, params, theta)
    doc["fit"] = fit_block
    head = (
        "# Written by `escsim calibrate`: values fitted to calibration/data/tallies.csv.\n"
        "# An overlay merged onto scenarios/historical.yaml by sim/scenario.py; the `fit` block\n"
        "# is provenance (ignored by the loader). Multipliers of the fit (rate_scale,\n"
        "# convoy_scale, lethality_scale) are written out as absolute values.\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100)


# --- predictive checks and pattern checks --------------------------------------------------------


def simulate_records(
    scenario: Scenario,
    seed: int,
    runs: int,
    rep_start: int = CHECK_OFFSET,
    end: dt.date | None = None,
) -> tuple[World, np.ndarray, np.ndarray]:
    """Run the kernel for a (fitted) scenario; return (world, records, replicate indices)."""
    world = dataclasses.replace(compile_world(scenario), seed=seed)
    if end is not None:
        world = dataclasses.replace(
            world, n_days=int(min(world.n_days, (end - world.start).days + 1))
        )
    rec, reps = run_kernel(world, rep_start, runs)
    return world, rec, reps


def pseudo_tallies(rows: list[tuple[str, str, str, tuple, tuple, str]]) -> pd.DataFrame:
    """Return a tallies-like frame from (id, start, end, weapons, targets, measure) rows."""
    return pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "start": pd.to_datetime([r[1] for r in rows]),
            "end": pd.to_datetime([r[2] for r in rows]),
            "weapons": [tuple(r[3]) for r in rows],
            "targets": [tuple(r[4]) for r in rows],
            "measure": [r[5] for r in rows],
        }
    )


def tally_summary(sim: np.ndarray, tallies: pd.DataFrame) -> pd.DataFrame:
    """Return per tally: observed, simulated quantiles, 90% consistency and log probability.

    Parameters
    ----------
    sim : ndarray (R, K)
        Simulated tallies.
    tallies : pandas.DataFrame
        The K tallies.

    Returns
    -------
    pandas.DataFrame
        Columns id, count, bound, q05, q25, q50, q75, q95, mean, inside90 (empirical 5-95%
        interval consistent with the report, ``sim.analysis.observed.consistent``), logprob.
    """
    q = np.quantile(sim, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0, method="inverted_cdf")
    c = tallies["count"].to_numpy(np.int64)
    b = tallies["bound"].to_numpy(str)
    var = sim.var(axis=0, ddof=1) if sim.shape[0] > 1 else sim.mean(axis=0)
    return pd.DataFrame(
        {
            "id": tallies["id"].to_numpy(),
            "count": c,
            "bound": b,
            "q05": q[0],
            "q25": q[1],
            "q50": q[2],
            "q75": q[3],
            "q95": q[4],
            "mean": sim.mean(axis=0),
            "inside90": O.consistent(q[0].astype(np.int64), q[4].astype(np.int64), c, b),
            "logprob": O.count_logprob(sim.mean(axis=0), var, c, b),
        }
    )


US = ("us_base", "us_embassy", "convoy")
ALL_WEAPONS = ("rocket", "ied", "drone")


def monthly_us_attacks(
    world: World, rec: np.ndarray, reps: np.ndarray, rep_start: int, runs: int, start: str, end: str
) -> tuple[list[str], np.ndarray]:
    """Return month labels and the (runs, months) matrix of attacks on US targets per month."""
    months = pd.period_range(start, end, freq="M")
    rows = [
        (str(m), str(m.start_time.date()), str(m.end_time.date()), ALL_WEAPONS, US, "attacks")
        for m in months
    ]
    t = pseudo_tallies(rows)
    return [str(m) for m in months], O.tally_matrix(
        rec, reps, rep_start, runs, O.compile_tallies(t, world.start)
    )


def days_to_next_attack(
    world: World,
    rec: np.ndarray,
    reps: np.ndarray,
    rep_start: int,
    runs: int,
    date: dt.date,
    horizon: int = 120,
) -> np.ndarray:
    """Return per replicate the days from ``date`` to the first later attack on US targets.

    Replicates without one within ``horizon`` days get NaN.
    """
    d0 = (date - world.start).days
    us_codes = [V.TARGETS.index(t) for t in US]
    sel = (
        (rec[:, L.E_KIND] == V.K_ATTACK)
        & np.isin(rec[:, L.E_TARGET], us_codes)
        & (rec[:, L.E_DAY] > d0)
        & (rec[:, L.E_DAY] <= d0 + horizon)
    )
    out = np.full(runs, np.nan)
    first = pd.Series(rec[sel, L.E_DAY]).groupby(reps[sel] - rep_start).min()
    out[first.index.to_numpy()] = first.to_numpy() - d0
    return out


def observed_days_to_next(events: pd.DataFrame, date: dt.date, horizon: int = 120) -> float:
    """Return days from ``date`` to the first later documented attack on US targets (or NaN)."""
    a = events[(events["kind"] == "attack") & events["target"].isin(US)]
    later = a[
        (a["date"] > pd.Timestamp(date))
        & (a["date"] <= pd.Timestamp(date) + pd.Timedelta(days=horizon))
    ]
    return float((later["date"].min() - pd.Timestamp(date)).days) if len(later) else float("nan")


def front_claim_share(
    rec: np.ndarray, reps: np.ndarray, rep_start: int, runs: int, world: World, end: dt.date
) -> np.ndarray:
    """Return per replicate the share of attacks (all targets, up to ``end``) claimed by a front."""
    last = (end - world.start).days
    sel = (rec[:, L.E_KIND] == V.K_ATTACK) & (rec[:, L.E_DAY] <= last)
    r = reps[sel] - rep_start
    total = np.bincount(r, minlength=runs).astype(float)
    claimed = np.bincount(r, weights=(rec[sel, L.E_CLAIMED] >= 0).astype(float), minlength=runs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, claimed / total, np.nan)


TRUCE_WINDOW = ("2020-10-11", "2020-11-16")
PRE_TRUCE_WINDOW = ("2020-09-04", "2020-10-10")
STRIKE_DATES = (dt.date(2019, 12, 29), dt.date(2020, 3, 12))


def pattern_checks(
    world: World,
    rec: np.ndarray,
    reps: np.ndarray,
    rep_start: int,
    runs: int,
    events: pd.DataFrame,
    tallies: pd.DataFrame,
) -> dict:
    """Return the pattern checks of the report as numbers (simulated and observed).

    Parameters
    ----------
    world, rec, reps, rep_start, runs
        A simulation of the fitted scenario (``simulate_records``).
    events : pandas.DataFrame
        The observed log (``sim.analysis.observed.load_observed_events``).
    tallies : pandas.DataFrame
        The observed tallies.

    Returns
    -------
    dict
        ``truce`` (embassy rockets before/during the October 2020 truce), ``strikes`` (days to
        the first attack on US targets after each strike), ``summer`` (peak month of 2020),
        ``fronts`` (share of attacks claimed by front groups).
    """
    out: dict = {}
    t = pseudo_tallies(
        [
            ("before", *PRE_TRUCE_WINDOW, ("rocket",), ("us_embassy",), "attacks"),
            ("during", *TRUCE_WINDOW, ("rocket",), ("us_embassy",), "attacks"),
            ("us_before", *PRE_TRUCE_WINDOW, ALL_WEAPONS, US, "attacks"),
            ("us_during", *TRUCE_WINDOW, ALL_WEAPONS, US, "attacks"),
        ]
    )
    m = O.tally_matrix(rec, reps, rep_start, runs, O.compile_tallies(t, world.start)).astype(float)
    obs = [
        int(O.tally(events, r.weapons, r.targets, r.start, r.end).iloc[0]) for r in t.itertuples()
    ]
    before, during = m[:, 0].mean(), m[:, 1].mean()
    out["truce"] = {
        "sim_embassy_before_mean": before,
        "sim_embassy_during_mean": during,
        "sim_drop_pct": 100.0 * (1.0 - during / before) if before > 0 else float("nan"),
        "sim_p_zero_during": float(np.mean(m[:, 1] == 0)),
        "sim_us_before_mean": m[:, 2].mean(),
        "sim_us_during_mean": m[:, 3].mean(),
        "obs_embassy_during": 0,
        "obs_embassy_before_documented": obs[0],
    }
    strikes = {}
    for d in STRIKE_DATES:
        x = days_to_next_attack(world, rec, reps, rep_start, runs, d)
        ok = x[np.isfinite(x)]
        strikes[str(d)] = {
            "sim_median": float(np.median(ok)) if ok.size else float("nan"),
            "sim_q05": float(np.quantile(ok, 0.05)) if ok.size else float("nan"),
            "sim_q95": float(np.quantile(ok, 0.95)) if ok.size else float("nan"),
            "sim_share_within_21d": float(np.mean(np.nan_to_num(x, nan=1e9) <= 21)),
            "obs_documented": observed_days_to_next(events, d),
        }
    out["strikes"] = strikes
    labels, monthly = monthly_us_attacks(world, rec, reps, rep_start, runs, "2020-01", "2020-12")
    peak = np.array(labels)[np.argmax(monthly, axis=1)]
    vals, cnt = np.unique(peak, return_counts=True)
    share = dict(zip(vals.tolist(), (cnt / runs).tolist(), strict=True))
    tl = tallies.set_index("id")
    obs_rates = {}
    for k in ("T08", "T09", "T10", "T11", "T12", "T14"):
        if k in tl.index:
            r = tl.loc[k]
            days = (r["end"] - r["start"]).days + 1
            obs_rates[k] = {
                "count": int(r["count"]),
                "bound": r["bound"],
                "days": days,
                "per_30_days": 30.0 * r["count"] / days,
            }
    out["summer"] = {
        "sim_mean_by_month": dict(zip(labels, monthly.mean(axis=0).tolist(), strict=True)),
        "sim_peak_month_share": share,
        "sim_share_peak_aug_sep": float(share.get("2020-08", 0.0) + share.get("2020-09", 0.0)),
        "obs_windows": obs_rates,
    }
    fcs = front_claim_share(rec, reps, rep_start, runs, world, dt.date(2021, 12, 31))
    a = events[(events["kind"] == "attack") & (events["date"] <= "2021-12-31")]
    out["fronts"] = {
        "sim_median": float(np.nanmedian(fcs)),
        "sim_q05": float(np.nanquantile(fcs, 0.05)),
        "sim_q95": float(np.nanquantile(fcs, 0.95)),
        "obs_documented_claimed": int(a["claimed_as"].notna().sum()),
        "obs_documented_attacks": len(a),
    }
    return out


# --- out-of-sample validation against baselines -------------------------------------------------


def class_factors(
    world: World,
    rec: np.ndarray,
    reps: np.ndarray,
    rep_start: int,
    runs: int,
    tallies: pd.DataFrame,
    until: dt.date,
) -> np.ndarray:
    """Return each tally class's simulated count per main-series event before ``until``.

    The main series is rocket attacks on US targets; a tally's factor is the mean simulated
    count of its class (weapons, targets, measure) over [scenario start, until) divided by the
    main series' mean over the same period (1 where the main series is empty).
    """
    last = str(until - dt.timedelta(days=1))
    first = str(world.start)
    rows = [("main", first, last, MAIN_WEAPONS, MAIN_TARGETS, "attacks")]
    rows += [(r.id, first, last, r.weapons, r.targets, r.measure) for r in tallies.itertuples()]
    m = O.tally_matrix(
        rec, reps, rep_start, runs, O.compile_tallies(pseudo_tallies(rows), world.start)
    ).mean(axis=0)
    if m[0] <= 0:
        return np.ones(len(tallies))
    return m[1:] / m[0]


@dataclass
class HoldoutResult:
    """Scores of the model and the baselines on tallies held out after a date."""

    date: dt.date
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]
    after_ids: tuple[str, ...]
    fit: FitResult
    table: pd.DataFrame  # one row per (method, tally)
    summary: pd.DataFrame  # one row per (method, set)
    baseline_params: dict[str, dict[str, float]]
    factors: dict[str, float]
    seconds: float


def split_holdout(tallies: pd.DataFrame, date: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (train, test): tallies whose windows end before ``date``, and the others."""
    end = tallies["end"].dt.date
    return (tallies[end < date].reset_index(drop=True), tallies[end >= date].reset_index(drop=True))


def holdout(
    scenario: Scenario,
    tallies: pd.DataFrame,
    date: dt.date,
    settings: FitSettings,
    events: pd.DataFrame,
    progress: Callable[[str], None] | None = None,
    hawkes_paths: int = 2000,
) -> HoldoutResult:
    """Fit on tallies ending before ``date``; score the model and baselines on the others.

    Parameters
    ----------
    scenario : Scenario
        The scenario without calibration.
    tallies : pandas.DataFrame
        Fittable tallies (``fittable``).
    date : datetime.date
        The holdout date.
    settings : FitSettings
        Budget (the model is fitted as in the full calibration).
    events : pandas.DataFrame
        The observed log (for the NB regression's indicators).
    progress : callable, optional
        Status lines.
    hawkes_paths : int
        Simulated paths of the Hawkes baseline.

    Returns
    -------
    HoldoutResult

    Raises
    ------
    ValueError
        If no tally ends before ``date`` or none ends on or after it.
    """
    from sim.analysis.calibrate import baselines as B

    t0 = time.perf_counter()
    train, test = split_holdout(tallies, date)
    if train.empty or test.empty:
        raise ValueError(
            f"--holdout-after {date}: {len(train)} tallies end before it and "
            f"{len(test)} on or after it; both sets must be non-empty"
        )
    problem = make_problem(scenario, train, settings.seed, settings.runs)
    res = fit(problem, settings, progress)
    # the model's predictive distribution, and the class factors from its training period
    end = test["end"].max().date()
    sim_sc = scenario
    world = dataclasses.replace(compile_world(sim_sc), seed=settings.seed)
    world = dataclasses.replace(world, n_days=int((end - world.start).days + 1))
    world = apply_params(world, problem.params, res.theta)
    rec, reps = run_kernel(world, CHECK_OFFSET, settings.check_runs)
    sim = O.tally_matrix(
        rec, reps, CHECK_OFFSET, settings.check_runs, O.compile_tallies(test, world.start)
    ).astype(float)
    f_train = class_factors(world, rec, reps, CHECK_OFFSET, settings.check_runs, train, date)
    f_test = class_factors(world, rec, reps, CHECK_OFFSET, settings.check_runs, test, date)
    day0 = pd.Timestamp(world.start)
    hday = (date - world.start).days
    tr = B.tally_set(train, day0, f_train)
    te = B.tally_set(test, day0, f_test)
    strike, truce = B.indicators(events, day0, world.n_days)
    ctx = B.Context(hday, strike, truce, B.reconstruct(tr, hday))
    rows = []
    count, bound = te.count, te.bound
    var = sim.var(axis=0, ddof=1) if sim.shape[0] > 1 else sim.mean(axis=0)
    rows.append(("model", B.scores(sim.mean(axis=0), var, count, bound)))
    params: dict[str, dict[str, float]] = {}
    for base in B.all_baselines(settings.seed, hawkes_paths):
        base.fit(tr, ctx)
        m, v = base.forecast(te, ctx)
        rows.append((base.name, B.scores(m, v, count, bound)))
        params[base.name] = base.params()
    after = tuple(test.loc[test["start"].dt.date >= date, "id"])
    frames = []
    for name, sc in rows:
        sc = sc.copy()
        sc.insert(0, "id", list(te.ids))
        sc.insert(0, "method", name)
        sc["count"], sc["bound"] = count, bound
        frames.append(sc)
    table = pd.concat(frames, ignore_index=True)
    summary = []
    for name, _ in rows:
        for label, ids in (("starting after the date", after), ("all held out", te.ids)):
            part = table[(table["method"] == name) & table["id"].isin(ids)]
            summary.append(
                {
                    "method": name,
                    "set": label,
                    "n": len(part),
                    "coverage90": float(part["inside90"].mean()) if len(part) else np.nan,
                    "mean_logscore": float(part["logscore"].mean()) if len(part) else np.nan,
                    "mean_crps": float(part["crps"].mean())
                    if part["crps"].notna().any()
                    else np.nan,
                }
            )
    return HoldoutResult(
        date,
        tuple(train["id"]),
        te.ids,
        after,
        res,
        table,
        pd.DataFrame(summary),
        params,
        dict(zip(te.ids, f_test.tolist(), strict=True)),
        time.perf_counter() - t0,
    )


# --- the whole calibration -----------------------------------------------------------------------


@dataclass
class Calibration:
    """Everything one ``escsim calibrate`` computes (written by ``sim.cli_calibrate``)."""

    settings: FitSettings
    scenario_path: Path
    base: Scenario
    tallies: pd.DataFrame  # all tallies
    fitted_ids: tuple[str, ...]
    problem: Problem
    fit: FitResult
    abc: AbcResult
    fitted_text: str
    fitted_scenario: Scenario
    check: pd.DataFrame  # tally_summary of the fitted scenario (fitted tallies)
    coverage90: float
    patterns: dict
    monthly_labels: list[str]
    monthly: np.ndarray
    holdout: HoldoutResult | None
    timings: dict[str, float]
    identifiability: list[str]


def run_calibration(
    settings: FitSettings,
    scenario_path: Path = DEFAULT_SCENARIO,
    holdout_after: dt.date | None = None,
    staging: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """Fit, quantify uncertainty, check predictions and (optionally) validate out of sample.

    Parameters
    ----------
    settings : FitSettings
        Seed and budget.
    scenario_path : Path
        The scenario to calibrate (its ``calibration`` overlay is ignored while fitting).
    holdout_after : datetime.date, optional
        Holdout date of the out-of-sample validation (none if not given).
    staging : Path, optional
        Directory where fitted.yaml is written to be re-loaded through the scenario loader
        (a temporary directory if not given); the caller moves it into place.
    progress : callable, optional
        Status lines.

    Returns
    -------
    Calibration
    """
    import tempfile

    from sim import __version__

    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    base = base_scenario(scenario_path)
    tallies = O.load_tallies()
    events = O.load_observed_events()
    fit_t = fittable(tallies, base)
    problem = make_problem(base, fit_t, settings.seed, settings.runs)
    say(
        f"fitting {len(problem.params)} parameters to {len(fit_t)} tallies "
        f"({settings.runs} replicates per candidate)"
    )
    t = time.perf_counter()
    res = fit(problem, settings, say)
    timings["fit"] = time.perf_counter() - t
    say(f"ABC rejection: {settings.abc_samples} prior points x {settings.abc_runs} replicates")
    t = time.perf_counter()
    abc_res = abc(problem, settings)
    timings["abc"] = time.perf_counter() - t
    q = abc_res.intervals()
    block = {
        "seed": settings.seed,
        "runs_per_candidate": settings.runs,
        "optimizer": {
            "method": "scipy differential_evolution",
            "popsize": settings.popsize,
            "maxiter": settings.maxiter,
            "generations": res.generations,
            "evaluations": res.n_evals,
            "polish": False,
            "updating": "deferred",
        },
        "objective": round(res.objective, 4),
        "composite_loglik": round(res.loglik, 4),
        "log_prior": round(res.logprior, 4),
        "tallies": list(fit_t["id"]),
        "date_range": [str(fit_t["start"].min().date()), str(fit_t["end"].max().date())],
        "parameters": {
            p.name: {
                "value": float(v),
                "abc_q05": _round(float(q[0, k])),
                "abc_q50": _round(float(q[1, k])),
                "abc_q95": _round(float(q[2, k])),
            }
            for k, (p, v) in enumerate(zip(problem.params, res.theta, strict=True))
        },
        "abc": {
            "samples": len(abc_res.theta),
            "runs": settings.abc_runs,
            "accepted": int(abc_res.accepted.sum()),
        },
        "scenario": Path(scenario_path).name,
        "escsim_version": __version__,
    }
    text = fitted_yaml(base, problem.params, res.theta, block)
    with tempfile.TemporaryDirectory() as tmp:
        fpath = (Path(staging) if staging else Path(tmp)) / "fitted.yaml"
        fpath.write_text(text, encoding="utf-8")
        fitted_sc = scenario_with_fit(scenario_path, fpath)
    say(f"predictive check: {settings.check_runs} replicates of the fitted scenario")
    t = time.perf_counter()
    world, rec, reps = simulate_records(fitted_sc, settings.seed, settings.check_runs)
    sim = O.tally_matrix(
        rec, reps, CHECK_OFFSET, settings.check_runs, O.compile_tallies(fit_t, world.start)
    )
    check = tally_summary(sim, fit_t)
    patterns = pattern_checks(world, rec, reps, CHECK_OFFSET, settings.check_runs, events, tallies)
    labels, monthly = monthly_us_attacks(
        world,
        rec,
        reps,
        CHECK_OFFSET,
        settings.check_runs,
        str(world.start)[:7],
        str(fitted_sc.end)[:7],
    )
    timings["check"] = time.perf_counter() - t
    hold = None
    if holdout_after is not None:
        say(f"out-of-sample validation: holdout after {holdout_after}")
        t = time.perf_counter()
        hold = holdout(
            base,
            fit_t,
            holdout_after,
            settings,
            events,
            say,
            hawkes_paths=max(200, settings.check_runs),
        )
        timings["holdout"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_all
    return Calibration(
        settings,
        Path(scenario_path),
        base,
        tallies,
        tuple(fit_t["id"]),
        problem,
        res,
        abc_res,
        text,
        fitted_sc,
        check,
        float(check["inside90"].mean()),
        patterns,
        labels,
        monthly,
        hold,
        timings,
        identifiability_notes(abc_res, problem.params),
    )
